//! The websocket gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME with
//! replay of the dispatches a session missed, and the faults tests inject (close codes, abrupt
//! drops, refused IDENTIFY).
//!
//! Every dispatch is numbered per session and kept, so a client that RESUMEs with its last
//! sequence number gets exactly what it missed, as on Discord.

use std::collections::HashMap;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

use crate::hub::{lock, SharedHub};
use crate::intents;
use crate::observe::DispatchRecord;
use crate::snowflake::snowflake_now;

/// How a test drops the gateway connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disconnect {
    /// A close frame with this code (4000 "unknown error" makes clients RESUME).
    Close(u16),
    /// The TCP connection just ends, with no close frame (the client sees 1006).
    Abrupt,
    /// Op 7 RECONNECT: Discord asks the client to reconnect and RESUME.
    Reconnect,
}

/// Counters of what clients did on the gateway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatewayStats {
    pub connections: u64,
    pub identifies: u64,
    pub resumes: u64,
    pub heartbeats: u64,
    /// Connections currently bound to a session.
    pub connected_sessions: u64,
}

#[derive(Debug)]
pub(crate) enum ConnCommand {
    Frame(String),
    Close(u16, String),
    Abort,
}

struct Connection {
    id: u64,
    tx: mpsc::UnboundedSender<ConnCommand>,
}

struct Session {
    intents: u64,
    bot_user_id: u64,
    seq: u64,
    frames: Vec<(u64, String)>,
    conn: Option<Connection>,
}

#[derive(Default)]
pub(crate) struct GatewayState {
    sessions: HashMap<String, Session>,
    pub refuse_identify: bool,
    pub stats: GatewayStats,
    next_conn_id: u64,
}

fn dispatch_frame(seq: u64, event: &str, data: &Value) -> String {
    json!({"op": 0, "s": seq, "t": event, "d": data}).to_string()
}

impl Session {
    /// Queues a dispatch for this session if its intents want it; returns its sequence number.
    fn push(&mut self, event: &str, data: &Value) -> Option<u64> {
        if !intents::receives(self.intents, event, data) {
            return None;
        }
        let redacted = intents::redact(self.intents, self.bot_user_id, event, data);
        self.seq += 1;
        let frame = dispatch_frame(self.seq, event, redacted.as_ref().unwrap_or(data));
        if let Some(conn) = &self.conn {
            // A send fails only when the connection task is ending; the frame stays for replay.
            let _ = conn.tx.send(ConnCommand::Frame(frame.clone()));
        }
        self.frames.push((self.seq, frame));
        Some(self.seq)
    }
}

impl GatewayState {
    /// Pushes a dispatch to every session; returns the highest sequence number used (0 if none).
    pub fn dispatch_to_all(&mut self, event: &str, data: &Value) -> u64 {
        self.sessions
            .values_mut()
            .filter_map(|s| s.push(event, data))
            .max()
            .unwrap_or(0)
    }

    pub fn disconnect_all(&mut self, how: Disconnect) -> usize {
        let mut count = 0;
        for session in self.sessions.values_mut() {
            if let Some(conn) = session.conn.take() {
                let command = match how {
                    Disconnect::Close(code) => ConnCommand::Close(code, "localcord fault".into()),
                    Disconnect::Abrupt => ConnCommand::Abort,
                    Disconnect::Reconnect => {
                        let reconnect = json!({"op": 7, "s": null, "t": null, "d": null});
                        ConnCommand::Frame(reconnect.to_string())
                    }
                };
                let _ = conn.tx.send(command);
                count += 1;
            }
        }
        self.stats.connected_sessions = self.connected();
        count
    }

    fn connected(&self) -> u64 {
        self.sessions.values().filter(|s| s.conn.is_some()).count() as u64
    }

    fn unbind(&mut self, conn_id: u64) {
        for session in self.sessions.values_mut() {
            if session.conn.as_ref().is_some_and(|c| c.id == conn_id) {
                session.conn = None;
            }
        }
        self.stats.connected_sessions = self.connected();
    }
}

/// Serves one websocket connection until it closes.
pub(crate) async fn serve_connection<S>(hub: SharedHub, ws: WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = {
        let mut gateway = lock(&hub.gateway);
        gateway.next_conn_id += 1;
        gateway.stats.connections += 1;
        gateway.next_conn_id
    };
    hub.bump();
    let hello = json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": 41250}});
    if sink.send(WsMessage::Text(hello.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let text = match incoming {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                    let _ = tx.send(ConnCommand::Close(4002, "Error while decoding payload.".into()));
                    continue;
                };
                handle_op(&hub, conn_id, &tx, &payload);
            }
            command = rx.recv() => {
                match command {
                    Some(ConnCommand::Frame(frame)) => {
                        if sink.send(WsMessage::Text(frame)).await.is_err() {
                            break;
                        }
                    }
                    Some(ConnCommand::Close(code, reason)) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                        let _ = sink.send(WsMessage::Close(Some(frame))).await;
                        let _ = sink.flush().await;
                        break;
                    }
                    Some(ConnCommand::Abort) | None => break,
                }
            }
        }
    }
    lock(&hub.gateway).unbind(conn_id);
    hub.bump();
}

fn token_matches(hub: &SharedHub, given: &Value) -> bool {
    let given = given.as_str().unwrap_or_default();
    given.strip_prefix("Bot ").unwrap_or(given) == hub.bot_token
}

fn handle_op(
    hub: &SharedHub,
    conn_id: u64,
    tx: &mpsc::UnboundedSender<ConnCommand>,
    payload: &Value,
) {
    let data = &payload["d"];
    match payload["op"].as_u64() {
        Some(1) => {
            lock(&hub.gateway).stats.heartbeats += 1;
            let _ = tx.send(ConnCommand::Frame(
                json!({"op": 11, "s": null, "t": null, "d": null}).to_string(),
            ));
        }
        Some(2) => identify(hub, conn_id, tx, data),
        Some(6) => resume(hub, conn_id, tx, data),
        _ => {}
    }
    hub.bump();
}

fn identify(hub: &SharedHub, conn_id: u64, tx: &mpsc::UnboundedSender<ConnCommand>, data: &Value) {
    let refuse = {
        let mut gateway = lock(&hub.gateway);
        gateway.stats.identifies += 1;
        gateway.refuse_identify
    };
    if refuse || !token_matches(hub, &data["token"]) {
        let _ = tx.send(ConnCommand::Close(4004, "Authentication failed.".into()));
        return;
    }
    let (ready, guild_creates, bot_user_id) = {
        let world = lock(&hub.world);
        let bot = world.user_json(world.bot_user_id);
        let guilds: Vec<Value> = world
            .guilds
            .keys()
            .map(|id| json!({"id": id.to_string(), "unavailable": true}))
            .collect();
        let session_id = format!("{:x}", snowflake_now());
        let ready = json!({
            "v": 10,
            "user": bot,
            "guilds": guilds,
            "session_id": session_id,
            "resume_gateway_url": hub.gateway_url,
            "shard": data.get("shard").cloned().unwrap_or(json!([0, 1])),
            "application": {"id": world.application_id.to_string(), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["localcord"],
        });
        let creates: Vec<Value> = world
            .guilds
            .values()
            .map(|g| world.guild_create_json(g))
            .collect();
        (ready, creates, world.bot_user_id)
    };
    let session_id = ready["session_id"].as_str().unwrap_or_default().to_string();
    let mut records = Vec::new();
    {
        let mut gateway = lock(&hub.gateway);
        // A fresh IDENTIFY means the client gave up on its old sessions.
        gateway.sessions.retain(|_, s| s.conn.is_some());
        let mut session = Session {
            intents: data["intents"].as_u64().unwrap_or(0),
            bot_user_id,
            seq: 0,
            frames: Vec::new(),
            conn: Some(Connection {
                id: conn_id,
                tx: tx.clone(),
            }),
        };
        let sent_at = Instant::now();
        let seq = session.push("READY", &ready).unwrap_or(0);
        records.push(DispatchRecord {
            seq,
            event: "READY".into(),
            data: ready,
            sent_at,
        });
        for create in guild_creates {
            let Some(seq) = session.push("GUILD_CREATE", &create) else {
                continue;
            };
            records.push(DispatchRecord {
                seq,
                event: "GUILD_CREATE".into(),
                data: create,
                sent_at,
            });
        }
        gateway.sessions.insert(session_id, session);
        gateway.stats.connected_sessions = gateway.connected();
    }
    lock(&hub.dispatches).extend(records);
}

fn resume(hub: &SharedHub, conn_id: u64, tx: &mpsc::UnboundedSender<ConnCommand>, data: &Value) {
    if !token_matches(hub, &data["token"]) {
        let _ = tx.send(ConnCommand::Close(4004, "Authentication failed.".into()));
        return;
    }
    let session_id = data["session_id"].as_str().unwrap_or_default();
    let last_seq = data["seq"].as_u64().unwrap_or(0);
    let mut gateway = lock(&hub.gateway);
    gateway.stats.resumes += 1;
    let Some(session) = gateway.sessions.get_mut(session_id) else {
        drop(gateway);
        let _ = tx.send(ConnCommand::Frame(
            json!({"op": 9, "s": null, "t": null, "d": false}).to_string(),
        ));
        return;
    };
    if let Some(old) = session.conn.take() {
        let _ = old.tx.send(ConnCommand::Close(
            4000,
            "Session resumed elsewhere.".into(),
        ));
    }
    for (_, frame) in session.frames.iter().filter(|(seq, _)| *seq > last_seq) {
        let _ = tx.send(ConnCommand::Frame(frame.clone()));
    }
    session.conn = Some(Connection {
        id: conn_id,
        tx: tx.clone(),
    });
    session.push("RESUMED", &json!({"_trace": ["localcord"]}));
    gateway.stats.connected_sessions = gateway.connected();
}
