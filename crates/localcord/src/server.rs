//! The network edge: accepts TCP (and optionally TLS) connections, upgrades `/ws` to the
//! gateway, and for `/api/v10/...` parses the request, applies injected faults and rate limits,
//! runs the REST handler, and records the request with the status it got.

use std::convert::Infallible;
use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::faults::FaultKind;
use crate::hub::{lock, SharedHub};
use crate::multipart;
use crate::observe::RecordedRequest;
use crate::ratelimit::{too_many_requests, Admission, Limited, RouteKey};
use crate::rest::{self, ApiRequest, Reply};

pub(crate) async fn accept_plain(listener: TcpListener, hub: SharedHub) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_io(TokioIo::new(stream), hub.clone(), false));
    }
}

pub(crate) async fn accept_tls(listener: TcpListener, acceptor: TlsAcceptor, hub: SharedHub) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let hub = hub.clone();
        tokio::spawn(async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                serve_io(TokioIo::new(tls), hub, true).await;
            }
        });
    }
}

async fn serve_io<I>(io: TokioIo<I>, hub: SharedHub, tls: bool)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(hub.clone(), req, tls));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

fn json_response(
    status: u16,
    body: Option<&Value>,
    headers: &[(String, String)],
) -> Response<Full<Bytes>> {
    let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_some() {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn upgrade_to_gateway(hub: SharedHub, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(key) = req.headers().get("sec-websocket-key") else {
        return json_response(
            400,
            Some(&json!({"message": "expected a websocket", "code": 0})),
            &[],
        );
    };
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            crate::gateway::serve_connection(hub, ws).await;
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert("upgrade", HeaderValue::from_static("websocket"));
    headers.insert("connection", HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        headers.insert("sec-websocket-accept", value);
    }
    response
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Discord's upload limit for a bot in a server without boosts (10 MiB, all files of one
/// request together); larger uploads are answered 413 with code 40005, as Discord does.
pub const ATTACHMENT_LIMIT_BYTES: usize = 10 * 1024 * 1024;

async fn handle(
    hub: SharedHub,
    req: Request<Incoming>,
    tls: bool,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let received_at = Instant::now();
    let received_at_utc = Utc::now();
    let path = req.uri().path().to_string();
    if path == "/ws" || path.starts_with("/ws/") {
        return Ok(upgrade_to_gateway(hub, req));
    }
    let method = req.method().as_str().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let authorization = header("authorization").unwrap_or_default();
    let audit_log_reason = header("x-audit-log-reason");
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let (json, files) = match multipart::boundary(&content_type) {
        Some(boundary) => {
            let parts = multipart::parse(&body, &boundary);
            let json = parts
                .iter()
                .find(|p| p.name == "payload_json")
                .and_then(|p| serde_json::from_slice(&p.data).ok())
                .unwrap_or(Value::Null);
            let files: Vec<_> = parts.into_iter().filter(|p| p.filename.is_some()).collect();
            (json, files)
        }
        None => (
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            Vec::new(),
        ),
    };
    let route = path.strip_prefix("/api/v10").map(str::to_string);
    let attached: usize = files.iter().map(|f| f.data.len()).sum();
    let reply = match &route {
        None => Reply::error(404, 0, "404: Not Found"),
        Some(_) if attached > ATTACHMENT_LIMIT_BYTES => {
            Reply::error(413, 40005, "Request entity too large")
        }
        Some(route) => {
            let api = ApiRequest {
                method: method.clone(),
                route: route.clone(),
                query: parse_query(&query),
                json: json.clone(),
                files: files.clone(),
                audit_log_reason: audit_log_reason.clone(),
            };
            answer(&hub, &api, &authorization).await
        }
    };
    tracing::debug!(%method, %path, status = reply.status, "localcord REST");
    lock(&hub.requests).push(RecordedRequest {
        method,
        path,
        query,
        json,
        files: files.into_iter().filter_map(|f| f.filename).collect(),
        body,
        audit_log_reason,
        received_at,
        received_at_utc,
        status: reply.status,
        response_headers: reply.headers.clone(),
        tls,
    });
    hub.bump();
    Ok(json_response(
        reply.status,
        reply.body.as_ref(),
        &reply.headers,
    ))
}

/// Authorisation, injected faults, rate limits, then the handler.
async fn answer(hub: &SharedHub, api: &ApiRequest, authorization: &str) -> Reply {
    let public = api.method == "GET" && api.route == "/gateway";
    let token_ok = authorization.strip_prefix("Bot ").unwrap_or(authorization) == hub.bot_token;
    if !public && !token_ok {
        return Reply::error(401, 0, "401: Unauthorized");
    }
    let fault = lock(&hub.faults).take(&api.method, &api.route);
    match fault {
        Some(FaultKind::RateLimited {
            retry_after,
            global,
        }) => {
            let limited = Limited {
                retry_after,
                global,
                bucket: "localcord-injected".to_string(),
                limit: 1,
            };
            return rate_limited(&limited);
        }
        Some(FaultKind::ServerError(status)) => {
            let reason = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Server Error");
            return Reply::error(status, 0, &format!("{status}: {reason}"));
        }
        Some(FaultKind::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let (guild, message_age) = route_context(hub, &api.route);
    let key = RouteKey {
        method: &api.method,
        route: &api.route,
        guild,
        message_age,
    };
    let admission = lock(&hub.rate_limits).admit(&key);
    match admission {
        Admission::Limited(limited) => rate_limited(&limited),
        Admission::Admitted(headers) => {
            let mut reply = rest::handle(hub, api);
            reply.headers.extend(headers);
            reply
        }
    }
}

/// What the rate limiter needs to know about a route: its guild and, for one message, its age.
fn route_context(hub: &SharedHub, route: &str) -> (Option<u64>, Option<std::time::Duration>) {
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let world = lock(&hub.world);
    match segments.as_slice() {
        ["channels", channel, rest @ ..] => {
            let channel: u64 = channel.parse().unwrap_or(0);
            let guild = world.guild_of_channel(channel);
            let age = match rest {
                ["messages", message] => message
                    .parse::<u64>()
                    .ok()
                    .filter(|m| {
                        world
                            .channels
                            .get(&channel)
                            .is_some_and(|c| c.messages.contains_key(m))
                    })
                    .map(|m| {
                        (Utc::now() - crate::snowflake::snowflake_time(m))
                            .to_std()
                            .unwrap_or_default()
                    }),
                _ => None,
            };
            (guild, age)
        }
        ["guilds", guild, ..] => (guild.parse().ok(), None),
        _ => (None, None),
    }
}

fn rate_limited(limited: &Limited) -> Reply {
    let (body, headers) = too_many_requests(limited);
    Reply {
        status: 429,
        body: Some(body),
        headers,
    }
}
