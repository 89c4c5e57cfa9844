//! An unmodified serenity client against localcord: connect, READY, GUILD_CREATE, a message in,
//! the handler deletes it and the message is really gone; RESUME after dropped sockets loses no
//! dispatch; a refused IDENTIFY (4004) makes `client.start()` fail with InvalidAuthentication.

mod common;

use common::{expect, intents, town, Deleter, Seen, FEW_SECONDS};
use localcord::{Disconnect, LocalDiscord, NewMessage};
use serenity::all::{Error as SerenityError, GatewayError};
use tokio::sync::mpsc;

async fn connected_client(server: &LocalDiscord) -> mpsc::UnboundedReceiver<Seen> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut client = server
        .serenity_client(intents())
        .event_handler(Deleter { seen: tx })
        .await
        .unwrap();
    tokio::spawn(async move { client.start().await });
    let ready = expect(&mut rx, FEW_SECONDS, |s| matches!(s, Seen::Ready { .. })).await;
    assert_eq!(
        ready,
        Seen::Ready {
            application_id: server.application_id()
        }
    );
    rx
}

#[tokio::test]
async fn message_in_delete_out() {
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let mut rx = connected_client(&server).await;
    let guild = expect(&mut rx, FEW_SECONDS, |s| {
        matches!(s, Seen::GuildCreate { .. })
    })
    .await;
    assert_eq!(
        guild,
        Seen::GuildCreate {
            guild_id: town.guild
        }
    );

    let posted = server
        .post_message(NewMessage::new(town.channel, town.alice, "hello everyone"))
        .unwrap();
    let id: u64 = posted["id"].as_str().unwrap().parse().unwrap();
    let delete = server
        .wait_for_request(|r| r.is("DELETE", "/channels/*/messages/*"), FEW_SECONDS)
        .await
        .unwrap();
    assert_eq!(
        delete.route(),
        format!("/channels/{}/messages/{id}", town.channel)
    );
    assert_eq!(delete.status, 204);
    assert!(
        server.message(town.channel, id).is_none(),
        "the message must really be gone"
    );
    assert!(server.channel_messages(town.channel).is_empty());
    let seen = expect(&mut rx, FEW_SECONDS, |s| matches!(s, Seen::Message { .. })).await;
    assert_eq!(
        seen,
        Seen::Message {
            id,
            content: "hello everyone".into()
        }
    );
    assert!(server
        .dispatches()
        .iter()
        .any(|d| d.event == "MESSAGE_DELETE"));
}

async fn resume_without_loss(how: Disconnect) {
    let server = LocalDiscord::start().await.unwrap();
    let town = town(&server);
    let mut rx = connected_client(&server).await;
    assert_eq!(server.drop_gateway(how), 1);
    // Sent while no socket is connected: must be replayed on RESUME.
    let posted = server
        .post_message(NewMessage::new(
            town.channel,
            town.alice,
            "sent while you were away",
        ))
        .unwrap();
    let id: u64 = posted["id"].as_str().unwrap().parse().unwrap();
    let seen = expect(&mut rx, std::time::Duration::from_secs(10), |s| {
        matches!(s, Seen::Message { .. })
    })
    .await;
    assert_eq!(
        seen,
        Seen::Message {
            id,
            content: "sent while you were away".into()
        }
    );
    let stats = server.gateway_stats();
    assert_eq!(
        stats.identifies, 1,
        "the client must RESUME, not IDENTIFY again"
    );
    assert!(stats.resumes >= 1);
    server
        .wait_until(|s| s.message(town.channel, id).is_none(), FEW_SECONDS)
        .await
        .unwrap();
}

#[tokio::test]
async fn resumes_after_close_4000_without_losing_a_dispatch() {
    resume_without_loss(Disconnect::Close(4000)).await;
}

#[tokio::test]
async fn resumes_after_an_abrupt_drop_without_losing_a_dispatch() {
    resume_without_loss(Disconnect::Abrupt).await;
}

#[tokio::test]
async fn resumes_after_an_op7_reconnect_without_losing_a_dispatch() {
    resume_without_loss(Disconnect::Reconnect).await;
}

#[tokio::test]
async fn refused_identify_is_invalid_authentication() {
    let server = LocalDiscord::start().await.unwrap();
    server.refuse_identify(true);
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut client = server
        .serenity_client(intents())
        .event_handler(Deleter { seen: tx })
        .await
        .unwrap();
    let result = tokio::time::timeout(FEW_SECONDS, client.start())
        .await
        .expect("start must end");
    assert!(
        matches!(
            result,
            Err(SerenityError::Gateway(GatewayError::InvalidAuthentication))
        ),
        "got {result:?}"
    );
}
