//! AutoMod rules a bot creates through serenity are enforced when users post: a match is
//! blocked before anyone sees it, AUTO_MODERATION_ACTION_EXECUTION carries the content, alerts
//! land in the alert channel, timeouts stop the author's next messages.

mod common;

use chrono::{Duration as Age, Utc};
use common::{town, FEW_SECONDS};
use localcord::{LocalDiscord, NewMessage, PostOutcome, Refusal};
use serenity::all::{Action, EditAutoModRule, EditMember, GuildId, Trigger, UserId};
use std::time::Duration;

#[tokio::test]
async fn a_rule_created_through_serenity_blocks_alerts_and_times_out() {
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let alerts = server.create_text_channel(town.guild, "helpers");
    let http = server.serenity_http();
    let rule = GuildId::new(town.guild)
        .create_automod_rule(
            &http,
            EditAutoModRule::new()
                .name("shieldbot: threats")
                .trigger(Trigger::Keyword {
                    strings: vec!["lamp post*".into()],
                    regex_patterns: vec![r"k+i+l+l+ y+o+u+".into()],
                    allow_list: vec![],
                })
                .actions(vec![
                    Action::BlockMessage {
                        custom_message: None,
                    },
                    Action::Alert(alerts.into()),
                    Action::Timeout(Duration::from_secs(600)),
                ])
                .enabled(true),
        )
        .await
        .unwrap();
    assert_eq!(server.automod_rules(town.guild).len(), 1);

    let harmless =
        server.try_post_message(NewMessage::new(town.channel, town.alice, "the lamp is on"));
    assert!(matches!(harmless, PostOutcome::Posted(_)));
    let outcome = server.try_post_message(NewMessage::new(
        town.channel,
        town.alice,
        "there's a lamp posting outside with your name",
    ));
    assert_eq!(outcome, PostOutcome::Blocked(vec![rule.id.get()]));
    assert_eq!(
        server.channel_messages(town.channel).len(),
        1,
        "the blocked message never lands"
    );

    let executions: Vec<_> = server
        .dispatches()
        .into_iter()
        .filter(|d| d.event == "AUTO_MODERATION_ACTION_EXECUTION")
        .collect();
    assert_eq!(executions.len(), 3, "one execution per action");
    assert!(executions
        .iter()
        .all(|e| e.data["content"] == "there's a lamp posting outside with your name"));
    assert_eq!(executions[0].data["matched_content"], "lamp posting");
    let alert = &server.channel_messages(alerts)[0];
    assert_eq!(alert["type"], 24);
    assert_eq!(executions[1].data["alert_system_message_id"], alert["id"]);

    let member = server.member(town.guild, town.alice).unwrap();
    assert!(member["communication_disabled_until"].is_string());
    let next = server.try_post_message(NewMessage::new(town.channel, town.alice, "hello again"));
    assert_eq!(next, PostOutcome::Refused(Refusal::TimedOut));
}

#[tokio::test]
async fn a_timeout_set_through_serenity_stops_the_authors_messages_until_lifted() {
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let http = server.serenity_http();
    let until = (Utc::now() + Age::minutes(10)).to_rfc3339();
    GuildId::new(town.guild)
        .edit_member(
            &http,
            UserId::new(town.alice),
            EditMember::new().disable_communication_until(until),
        )
        .await
        .unwrap();
    let patch = server
        .wait_for_request(|r| r.is("PATCH", "/guilds/*/members/*"), FEW_SECONDS)
        .await
        .unwrap();
    assert!(patch.json["communication_disabled_until"].is_string());
    assert_eq!(
        server.try_post_message(NewMessage::new(town.channel, town.alice, "let me speak")),
        PostOutcome::Refused(Refusal::TimedOut)
    );
    GuildId::new(town.guild)
        .edit_member(
            &http,
            UserId::new(town.alice),
            EditMember::new().enable_communication(),
        )
        .await
        .unwrap();
    assert!(server
        .post_message(NewMessage::new(town.channel, town.alice, "thanks"))
        .is_some());
}
