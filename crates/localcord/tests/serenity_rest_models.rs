//! serenity's own REST calls parse localcord's answers into serenity's models: the calls a
//! bot like shieldbot (and poise at start-up) makes.

mod common;

use chrono::{Duration as Age, Utc};
use common::town;
use localcord::{LocalDiscord, NewMessage};
use serenity::all::{
    ChannelId, Command, CommandOptionType, CreateCommand, CreateCommandOption, CreateMessage,
    EditMessage, GetMessages, GuildId, MessageId, UserId,
};

#[tokio::test]
async fn serenity_reads_every_answer_it_asks_for() {
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let http = server.serenity_http();

    let me = http.get_current_user().await.unwrap();
    assert_eq!(me.id.get(), server.bot_user_id());
    assert!(me.bot);
    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.id.get(), server.application_id());
    let alice = http.get_user(UserId::new(town.alice)).await.unwrap();
    assert_eq!(alice.name, "alice");
    assert!(alice.id.created_at().unix_timestamp() < (Utc::now() - Age::days(2)).timestamp());

    let guild = GuildId::new(town.guild);
    let partial = http.get_guild(guild).await.unwrap();
    assert_eq!(partial.name, "Town hall");
    assert_eq!(guild.channels(&http).await.unwrap().len(), 1);
    assert!(guild.roles(&http).await.unwrap().len() >= 2);
    let member = guild.member(&http, UserId::new(town.alice)).await.unwrap();
    assert!(member.joined_at.is_some());
    assert_eq!(guild.members(&http, Some(10), None).await.unwrap().len(), 2);
    let channel = ChannelId::new(town.channel)
        .to_channel(&http)
        .await
        .unwrap();
    assert!(channel.guild().is_some());

    let global = Command::set_global_commands(
        &http,
        vec![CreateCommand::new("digest").description("Today's digest")],
    )
    .await
    .unwrap();
    assert_eq!(global[0].name, "digest");
    let guild_commands = guild
        .set_commands(
            &http,
            vec![CreateCommand::new("protect")
                .description("Protect someone")
                .add_option(
                    CreateCommandOption::new(CommandOptionType::User, "user", "who").required(true),
                )],
        )
        .await
        .unwrap();
    assert_eq!(guild_commands[0].options.len(), 1);
    assert_eq!(server.registered_commands(Some(town.guild)).len(), 1);

    let reply_to = server
        .post_message(NewMessage::new(town.channel, town.alice, "original"))
        .unwrap();
    let reply_id: u64 = reply_to["id"].as_str().unwrap().parse().unwrap();
    let sent = ChannelId::new(town.channel)
        .send_message(
            &http,
            CreateMessage::new()
                .content("noted")
                .reference_message((ChannelId::new(town.channel), MessageId::new(reply_id))),
        )
        .await
        .unwrap();
    assert_eq!(
        sent.referenced_message.as_ref().map(|m| m.id.get()),
        Some(reply_id)
    );
    let mut edited = sent.clone();
    edited
        .edit(&http, EditMessage::new().content("noted, thanks"))
        .await
        .unwrap();
    assert!(edited.edited_timestamp.is_some());
    let history = ChannelId::new(town.channel)
        .messages(&http, GetMessages::new().limit(10))
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    let dm = UserId::new(town.alice)
        .create_dm_channel(&http)
        .await
        .unwrap();
    dm.say(&http, "your message was held for review")
        .await
        .unwrap();
    assert_eq!(server.dms_to(town.alice).len(), 1);
    guild
        .ban_with_reason(&http, UserId::new(town.alice), 0, "threats")
        .await
        .unwrap();
    assert!(server.is_banned(town.guild, town.alice));
    let banned = server.requests_matching("PUT", "/guilds/*/bans/*");
    assert_eq!(banned[0].audit_log_reason.as_deref(), Some("threats"));
    assert_eq!(guild.bans(&http, None, None).await.unwrap().len(), 1);
    guild.unban(&http, UserId::new(town.alice)).await.unwrap();
    assert!(!server.is_banned(town.guild, town.alice));
}

/// Uploads over Discord's limit for a server without boosts are refused as Discord refuses them,
/// so a bot's handling of a too-large attachment (the evidence export) is tested for real.
#[tokio::test]
async fn uploads_over_the_limit_are_refused_with_413() {
    use serenity::all::CreateAttachment;
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let http = server.serenity_http();
    let channel = ChannelId::new(town.channel);
    let small = CreateAttachment::bytes(vec![b'a'; 1024], "small.txt");
    let sent = channel
        .send_files(&http, [small], CreateMessage::new().content("small"))
        .await;
    assert!(sent.is_ok(), "{sent:?}");
    let big = CreateAttachment::bytes(vec![b'a'; localcord::ATTACHMENT_LIMIT_BYTES + 1], "big.txt");
    let refused = channel
        .send_files(&http, [big], CreateMessage::new().content("big"))
        .await;
    match refused {
        Err(serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(e))) => {
            assert_eq!(e.status_code.as_u16(), 413);
            assert_eq!(e.error.code, 40005);
        }
        other => panic!("expected 413, got {other:?}"),
    }
}
