//! Every REST route localcord serves answers with a status Discord documents and a body that
//! validates against Discord's official OpenAPI schema for that route and status (the spec is
//! vendored in `spec/`, MIT). Errors and 429s are checked against the error schemas too.

use std::time::Duration;

use chrono::{Duration as Age, Utc};
use localcord::{LocalDiscord, NewMessage, RestFault, SlashCommand};
use serde_json::{json, Value};

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Checker {
    spec: Value,
    failures: Vec<String>,
    checked: usize,
}

impl Checker {
    /// The response object for this operation and status (following `$ref` to
    /// `components/responses`), or the 4XX one for client errors.
    fn response(&self, method: &str, template: &str, status: u16) -> Option<Value> {
        let responses = &self.spec["paths"][template][method.to_ascii_lowercase()]["responses"];
        let exact = &responses[status.to_string()];
        let response = if !exact.is_null() {
            exact
        } else if (400..500).contains(&status) {
            &responses["4XX"]
        } else {
            return None;
        };
        match response["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or_default();
                Some(self.spec["components"]["responses"][name].clone())
            }
            None => Some(response.clone()),
        }
    }

    fn check(&mut self, method: &str, template: &str, status: u16, body: &Value) {
        self.checked += 1;
        let Some(response) = self.response(method, template, status) else {
            self.failures.push(format!(
                "{method} {template}: status {status} is not documented"
            ));
            return;
        };
        let schema = &response["content"]["application/json"]["schema"];
        if schema.is_null() {
            if !body.is_null() {
                self.failures.push(format!(
                    "{method} {template} {status}: documented without a body"
                ));
            }
            return;
        }
        let mut document = schema.clone();
        document["components"] = self.spec["components"].clone();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&document)
            .unwrap();
        for error in validator.iter_errors(body) {
            self.failures.push(format!(
                "{method} {template} {status}: at {}: {error}",
                error.instance_path()
            ));
        }
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bot {}", self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_served_route_matches_discords_openapi_schemas() {
    let server = LocalDiscord::start().await.unwrap();
    let guild = server.create_guild("Town hall");
    let channel = server.create_text_channel(guild, "general");
    let alice = server.create_user("alice", Utc::now() - Age::days(900));
    let mallory = server.create_user("mallory", Utc::now() - Age::hours(2));
    server.add_member(guild, alice, Utc::now() - Age::days(30), &[]);
    server.add_member(guild, mallory, Utc::now() - Age::hours(1), &[]);
    let first = server
        .post_message(NewMessage::new(channel, alice, "first"))
        .unwrap();
    let reply = server
        .post_message(
            NewMessage::new(channel, mallory, "a reply")
                .replying_to(id_of(&first).parse().unwrap()),
        )
        .unwrap();
    let app = server.application_id();
    let client = Client {
        http: reqwest::Client::new(),
        base: server.api_url(),
        token: server.bot_token().to_string(),
    };
    let mut checker = Checker {
        spec: spec(),
        failures: Vec::new(),
        checked: 0,
    };
    let (g, c) = (guild.to_string(), channel.to_string());

    // (method, spec template, concrete path, body)
    let mut calls: Vec<(&str, &str, String, Option<Value>)> = vec![
        ("GET", "/gateway", "/gateway".into(), None),
        ("GET", "/gateway/bot", "/gateway/bot".into(), None),
        ("GET", "/users/@me", "/users/@me".into(), None),
        ("GET", "/users/{user_id}", format!("/users/{alice}"), None),
        ("GET", "/applications/@me", "/applications/@me".into(), None),
        (
            "GET",
            "/oauth2/applications/@me",
            "/oauth2/applications/@me".into(),
            None,
        ),
        (
            "POST",
            "/users/@me/channels",
            "/users/@me/channels".into(),
            Some(json!({"recipient_id": alice.to_string()})),
        ),
        (
            "PUT",
            "/applications/{application_id}/commands",
            format!("/applications/{app}/commands"),
            Some(
                json!([{"name": "quarantine", "description": "Review the quarantine", "type": 1}]),
            ),
        ),
        (
            "GET",
            "/applications/{application_id}/commands",
            format!("/applications/{app}/commands"),
            None,
        ),
        (
            "POST",
            "/applications/{application_id}/commands",
            format!("/applications/{app}/commands"),
            Some(json!({"name": "digest", "description": "Show the digest"})),
        ),
        (
            "PUT",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            format!("/applications/{app}/guilds/{g}/commands"),
            Some(
                json!([{"name": "protect", "description": "Protect someone", "options": [
                {"type": 6, "name": "user", "description": "who", "required": true}]}]),
            ),
        ),
        (
            "GET",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            format!("/applications/{app}/guilds/{g}/commands"),
            None,
        ),
        (
            "POST",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            format!("/applications/{app}/guilds/{g}/commands"),
            Some(json!({"name": "release", "description": "Release a message"})),
        ),
        (
            "GET",
            "/channels/{channel_id}",
            format!("/channels/{c}"),
            None,
        ),
        (
            "GET",
            "/channels/{channel_id}/messages",
            format!("/channels/{c}/messages?limit=10"),
            None,
        ),
        (
            "GET",
            "/channels/{channel_id}/messages",
            format!("/channels/{c}/messages?around={}", id_of(&first)),
            None,
        ),
        (
            "GET",
            "/channels/{channel_id}/messages/{message_id}",
            format!("/channels/{c}/messages/{}", id_of(&reply)),
            None,
        ),
        (
            "POST",
            "/channels/{channel_id}/messages",
            format!("/channels/{c}/messages"),
            Some(
                json!({"content": "noted", "message_reference": {"message_id": id_of(&first)},
                "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Release", "custom_id": "release:1"}]}]}),
            ),
        ),
        (
            "POST",
            "/channels/{channel_id}/typing",
            format!("/channels/{c}/typing"),
            None,
        ),
        ("GET", "/guilds/{guild_id}", format!("/guilds/{g}"), None),
        (
            "GET",
            "/guilds/{guild_id}/channels",
            format!("/guilds/{g}/channels"),
            None,
        ),
        (
            "GET",
            "/guilds/{guild_id}/roles",
            format!("/guilds/{g}/roles"),
            None,
        ),
        (
            "GET",
            "/guilds/{guild_id}/members",
            format!("/guilds/{g}/members?limit=100"),
            None,
        ),
        (
            "GET",
            "/guilds/{guild_id}/members/{user_id}",
            format!("/guilds/{g}/members/{alice}"),
            None,
        ),
        (
            "PATCH",
            "/guilds/{guild_id}/members/{user_id}",
            format!("/guilds/{g}/members/{mallory}"),
            Some(
                json!({"communication_disabled_until": (Utc::now() + Age::hours(1)).to_rfc3339()}),
            ),
        ),
        (
            "PUT",
            "/guilds/{guild_id}/bans/{user_id}",
            format!("/guilds/{g}/bans/{mallory}"),
            Some(json!({"delete_message_seconds": 3600})),
        ),
        (
            "GET",
            "/guilds/{guild_id}/bans",
            format!("/guilds/{g}/bans"),
            None,
        ),
        (
            "GET",
            "/guilds/{guild_id}/bans/{user_id}",
            format!("/guilds/{g}/bans/{mallory}"),
            None,
        ),
        (
            "DELETE",
            "/guilds/{guild_id}/bans/{user_id}",
            format!("/guilds/{g}/bans/{mallory}"),
            None,
        ),
        (
            "POST",
            "/guilds/{guild_id}/auto-moderation/rules",
            format!("/guilds/{g}/auto-moderation/rules"),
            Some(
                json!({"name": "shieldbot keywords", "event_type": 1, "trigger_type": 1,
                "trigger_metadata": {"keyword_filter": ["badword"], "regex_patterns": ["b+a+d+"]},
                "actions": [{"type": 1, "metadata": {"custom_message": "Blocked"}}], "enabled": true}),
            ),
        ),
        (
            "GET",
            "/guilds/{guild_id}/auto-moderation/rules",
            format!("/guilds/{g}/auto-moderation/rules"),
            None,
        ),
        // Errors: Discord's error body.
        (
            "GET",
            "/channels/{channel_id}/messages/{message_id}",
            format!("/channels/{c}/messages/1"),
            None,
        ),
        (
            "GET",
            "/guilds/{guild_id}/members/{user_id}",
            format!("/guilds/{g}/members/1"),
            None,
        ),
    ];
    let mut results = Vec::new();
    for (method, template, path, body) in calls.drain(..) {
        let (status, json) = client.call(method, &path, body).await;
        checker.check(method, template, status, &json);
        results.push((method, template, status, json));
    }
    let status_of = |m: &str, t: &str| results.iter().find(|r| r.0 == m && r.1 == t).map(|r| r.2);
    assert_eq!(
        status_of("POST", "/channels/{channel_id}/messages"),
        Some(200)
    );
    assert_eq!(
        status_of("PUT", "/guilds/{guild_id}/bans/{user_id}"),
        Some(204)
    );

    // Messages: edit, delete, bulk delete (ids taken from what the server returned).
    let posted = &results
        .iter()
        .find(|r| r.0 == "POST" && r.1 == "/channels/{channel_id}/messages")
        .unwrap()
        .3;
    let mine = id_of(posted);
    let (status, json) = client
        .call(
            "PATCH",
            &format!("/channels/{c}/messages/{mine}"),
            Some(json!({"content": "edited"})),
        )
        .await;
    checker.check(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        status,
        &json,
    );
    let (status, json) = client
        .call("DELETE", &format!("/channels/{c}/messages/{mine}"), None)
        .await;
    checker.check(
        "DELETE",
        "/channels/{channel_id}/messages/{message_id}",
        status,
        &json,
    );
    let extra: Vec<String> = (0..3)
        .map(|n| {
            id_of(
                &server
                    .post_message(NewMessage::new(channel, alice, format!("spam {n}")))
                    .unwrap(),
            )
        })
        .collect();
    let (status, json) = client
        .call(
            "POST",
            &format!("/channels/{c}/messages/bulk-delete"),
            Some(json!({"messages": extra})),
        )
        .await;
    checker.check(
        "POST",
        "/channels/{channel_id}/messages/bulk-delete",
        status,
        &json,
    );
    assert_eq!(status, 204);

    // AutoMod rule by id.
    let rule = id_of(
        &results
            .iter()
            .find(|r| r.0 == "POST" && r.1.ends_with("/rules"))
            .unwrap()
            .3,
    );
    for (method, body) in [
        ("GET", None),
        (
            "PATCH",
            Some(json!({"trigger_metadata": {"keyword_filter": ["worse"]}})),
        ),
        ("DELETE", None),
    ] {
        let (status, json) = client
            .call(
                method,
                &format!("/guilds/{g}/auto-moderation/rules/{rule}"),
                body,
            )
            .await;
        checker.check(
            method,
            "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
            status,
            &json,
        );
    }
    // Commands: delete one.
    let command = id_of(
        &results
            .iter()
            .find(|r| r.0 == "POST" && r.1 == "/applications/{application_id}/commands")
            .unwrap()
            .3,
    );
    let (status, json) = client
        .call(
            "DELETE",
            &format!("/applications/{app}/commands/{command}"),
            None,
        )
        .await;
    checker.check(
        "DELETE",
        "/applications/{application_id}/commands/{command_id}",
        status,
        &json,
    );
    // Kick.
    let (status, json) = client
        .call("DELETE", &format!("/guilds/{g}/members/{alice}"), None)
        .await;
    checker.check(
        "DELETE",
        "/guilds/{guild_id}/members/{user_id}",
        status,
        &json,
    );

    // Interactions: callback, original response, follow-ups.
    let interaction = server.invoke_slash_command(SlashCommand {
        guild,
        channel,
        user: alice,
        name: "protect".into(),
        options: vec![json!({"name": "user", "type": 6, "value": alice.to_string()})],
    });
    let (i, t) = (interaction.id, interaction.token.clone());
    let (status, json) = client
        .call(
            "POST",
            &format!("/interactions/{i}/{t}/callback"),
            Some(json!({"type": 4, "data": {"content": "Protected.", "flags": 64}})),
        )
        .await;
    checker.check(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        status,
        &json,
    );
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"content": "Protected, really."}))),
    ] {
        let (status, json) = client
            .call(
                method,
                &format!("/webhooks/{app}/{t}/messages/@original"),
                body,
            )
            .await;
        checker.check(
            method,
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            status,
            &json,
        );
    }
    let (status, followup) = client
        .call(
            "POST",
            &format!("/webhooks/{app}/{t}"),
            Some(json!({"content": "And one more thing"})),
        )
        .await;
    checker.check(
        "POST",
        "/webhooks/{webhook_id}/{webhook_token}",
        status,
        &followup,
    );
    let (status, json) = client
        .call(
            "GET",
            &format!("/webhooks/{app}/{t}/messages/{}", id_of(&followup)),
            None,
        )
        .await;
    checker.check(
        "GET",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
        status,
        &json,
    );
    let (status, json) = client
        .call(
            "DELETE",
            &format!("/webhooks/{app}/{t}/messages/@original"),
            None,
        )
        .await;
    checker.check(
        "DELETE",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        status,
        &json,
    );
    assert_eq!(
        server.interaction_messages(&interaction).len(),
        1,
        "the follow-up is left"
    );

    // An injected 429: Discord's rate-limited body.
    server.inject_rest_fault(RestFault::rate_limited(
        "GET",
        "/users/@me",
        Duration::from_millis(250),
    ));
    let (status, json) = client.call("GET", "/users/@me", None).await;
    assert_eq!(status, 429);
    checker.check("GET", "/users/@me", status, &json);

    // Multipart: payload_json + a file becomes an attachment.
    let form = reqwest::multipart::Form::new()
        .text(
            "payload_json",
            json!({"content": "evidence attached"}).to_string(),
        )
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"line one\nline two".to_vec())
                .file_name("evidence.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let response = client
        .http
        .post(format!("{}/channels/{c}/messages", client.base))
        .header("Authorization", format!("Bot {}", client.token))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let json: Value = response.json().await.unwrap();
    checker.check("POST", "/channels/{channel_id}/messages", status, &json);
    assert_eq!(json["attachments"][0]["filename"], "evidence.txt");
    assert_eq!(json["attachments"][0]["size"], 17);
    assert_eq!(json["content"], "evidence attached");
    assert_eq!(
        server.requests().last().unwrap().files,
        vec!["evidence.txt".to_string()]
    );

    // The checker itself must reject a body that breaks the schema.
    let before = checker.failures.len();
    let mut broken = json.clone();
    broken.as_object_mut().unwrap().remove("author");
    checker.check("POST", "/channels/{channel_id}/messages", 200, &broken);
    assert_eq!(
        checker.failures.len(),
        before + 1,
        "a message without author must fail validation"
    );
    checker.failures.truncate(before);

    assert!(
        checker.checked >= 45,
        "only {} responses checked",
        checker.checked
    );
    assert!(
        checker.failures.is_empty(),
        "{} schema failures:\n{}",
        checker.failures.len(),
        checker.failures.join("\n")
    );
}
