//! Slash commands, button clicks and AutoMod executions reach an unmodified serenity handler,
//! and what the handler answers (interaction callbacks, follow-ups, message updates) is what
//! the server records. Also: 5xx faults surface to serenity as errors, delays are honoured.

mod common;

use std::time::{Duration, Instant};

use common::{town, FEW_SECONDS};
use localcord::{AutoModExecution, ButtonClick, LocalDiscord, NewMessage, RestFault, SlashCommand};
use serde_json::json;
use serenity::all::{
    ActionExecution, ChannelId, Context, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    EventHandler, GatewayIntents, Interaction, Ready,
};
use serenity::async_trait;
use tokio::sync::mpsc;

struct Responder {
    automod: mpsc::UnboundedSender<(String, Option<String>)>,
    ready: mpsc::UnboundedSender<()>,
}

#[async_trait]
impl EventHandler for Responder {
    async fn ready(&self, _ctx: Context, _ready: Ready) {
        let _ = self.ready.send(());
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => {
                let target = command
                    .data
                    .options
                    .first()
                    .and_then(|o| o.value.as_user_id());
                let reply = CreateInteractionResponseMessage::new()
                    .content(format!("protecting {}", target.map_or(0, |u| u.get())))
                    .ephemeral(true);
                command
                    .create_response(&ctx, CreateInteractionResponse::Message(reply))
                    .await
                    .unwrap();
                command
                    .create_followup(
                        &ctx,
                        CreateInteractionResponseFollowup::new().content("done"),
                    )
                    .await
                    .unwrap();
            }
            Interaction::Component(click) => {
                let update = CreateInteractionResponseMessage::new()
                    .content(format!("clicked {}", click.data.custom_id))
                    .components(vec![]);
                click
                    .create_response(&ctx, CreateInteractionResponse::UpdateMessage(update))
                    .await
                    .unwrap();
            }
            _ => {}
        }
    }

    async fn auto_moderation_action_execution(&self, _ctx: Context, execution: ActionExecution) {
        let _ = self
            .automod
            .send((execution.content, execution.matched_keyword));
    }
}

async fn started(server: &LocalDiscord) -> mpsc::UnboundedReceiver<(String, Option<String>)> {
    let (automod, automod_rx) = mpsc::unbounded_channel();
    let (ready, mut ready_rx) = mpsc::unbounded_channel();
    let intents = GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::AUTO_MODERATION_EXECUTION;
    let mut client = server
        .serenity_client(intents)
        .event_handler(Responder { automod, ready })
        .await
        .unwrap();
    tokio::spawn(async move { client.start().await });
    tokio::time::timeout(FEW_SECONDS, ready_rx.recv())
        .await
        .unwrap();
    automod_rx
}

#[tokio::test]
async fn slash_command_and_button_round_trip() {
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let _automod = started(&server).await;

    let command = server.invoke_slash_command(SlashCommand {
        guild: town.guild,
        channel: town.channel,
        user: town.alice,
        name: "protect".into(),
        options: vec![json!({"name": "user", "type": 6, "value": town.alice.to_string()})],
    });
    server
        .wait_until(|s| s.interaction_messages(&command).len() == 2, FEW_SECONDS)
        .await
        .unwrap();
    let callbacks = server.interaction_callbacks(&command);
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0]["type"], 4);
    assert_eq!(
        callbacks[0]["data"]["content"],
        format!("protecting {}", town.alice)
    );
    assert_eq!(callbacks[0]["data"]["flags"], 64);
    let messages = server.interaction_messages(&command);
    assert_eq!(messages[1]["content"], "done");
    // The ephemeral answer is not in the channel; the follow-up is.
    let in_channel: Vec<_> = server
        .channel_messages(town.channel)
        .iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(in_channel, vec![json!("done")]);

    let http = server.serenity_http();
    let review = ChannelId::new(town.channel)
        .send_message(
            &http,
            CreateMessage::new()
                .content("review")
                .button(serenity::all::CreateButton::new("release:7").label("Release")),
        )
        .await
        .unwrap();
    let click = server
        .click_button(ButtonClick {
            channel: town.channel,
            message: review.id.get(),
            user: town.alice,
            custom_id: "release:7".into(),
        })
        .unwrap();
    server
        .wait_until(|s| !s.interaction_callbacks(&click).is_empty(), FEW_SECONDS)
        .await
        .unwrap();
    assert_eq!(server.interaction_callbacks(&click)[0]["type"], 7);
    let updated = server.message(town.channel, review.id.get()).unwrap();
    assert_eq!(updated["content"], "clicked release:7");
    assert_eq!(updated["components"], json!([]));
}

#[tokio::test]
async fn automod_execution_reaches_the_handler_with_its_content() {
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let mut automod = started(&server).await;
    server.trigger_automod(AutoModExecution {
        guild: town.guild,
        channel: town.channel,
        user: town.alice,
        rule_id: 42,
        content: "blocked words here".into(),
        matched_keyword: Some("blocked".into()),
        matched_content: Some("blocked".into()),
        action_type: 1,
        message_id: None,
    });
    let (content, keyword) = tokio::time::timeout(FEW_SECONDS, automod.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content, "blocked words here");
    assert_eq!(keyword.as_deref(), Some("blocked"));
}

#[tokio::test]
async fn server_errors_surface_and_delays_are_honoured() {
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let http = server.serenity_http();
    server.inject_rest_fault(RestFault::server_error("POST", "/channels/*/messages", 502).times(2));
    for _ in 0..2 {
        let error = ChannelId::new(town.channel)
            .say(&http, "x")
            .await
            .unwrap_err();
        assert!(format!("{error:?}").contains("502"), "{error:?}");
    }
    assert!(ChannelId::new(town.channel)
        .say(&http, "third time lucky")
        .await
        .is_ok());

    let delay = Duration::from_millis(300);
    server.inject_rest_fault(RestFault::delay("GET", "/channels/*/messages", delay));
    let started = Instant::now();
    let history = ChannelId::new(town.channel)
        .messages(&http, serenity::all::GetMessages::new())
        .await
        .unwrap();
    assert!(started.elapsed() >= delay);
    assert_eq!(history.len(), 1);

    // Posting as a user and reading history round-trips through serenity's models.
    let posted = server
        .post_message(NewMessage::new(town.channel, town.alice, "from alice"))
        .unwrap();
    let newest = ChannelId::new(town.channel)
        .messages(&http, serenity::all::GetMessages::new().limit(1))
        .await
        .unwrap();
    assert_eq!(
        newest[0].id.get().to_string(),
        posted["id"].as_str().unwrap()
    );
    assert_eq!(newest[0].author.id.get(), town.alice);
}
