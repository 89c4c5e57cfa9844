//! REST under `/api/v10`: routes a request to the handler for its resource. Each handler takes
//! the parsed request and the shared state and returns a `Reply` in Discord's JSON shapes.

mod application;
mod automod;
mod guilds;
mod interactions;
mod messages;
pub(crate) mod reply;

use serde_json::Value;

use crate::hub::Hub;
use crate::multipart::Part;
pub(crate) use messages::{apply_edit, mentioned_users};
pub(crate) use reply::Reply;

/// A parsed REST request.
pub(crate) struct ApiRequest {
    pub method: String,
    /// Path below `/api/v10`, without the query.
    pub route: String,
    pub query: Vec<(String, String)>,
    pub json: Value,
    pub files: Vec<Part>,
    pub audit_log_reason: Option<String>,
}

impl ApiRequest {
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn id(segment: &str) -> Option<u64> {
    segment.parse().ok()
}

/// Dispatches to the handler for this method and route.
pub(crate) fn handle(hub: &Hub, req: &ApiRequest) -> Reply {
    let segments: Vec<&str> = req.route.trim_matches('/').split('/').collect();
    let method = req.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["gateway"]) => application::gateway(hub, false),
        ("GET", ["gateway", "bot"]) => application::gateway(hub, true),
        ("GET", ["users", "@me"]) => application::current_user(hub),
        ("GET", ["users", user]) => with_id(user, |u| application::user(hub, u)),
        ("GET", ["applications", "@me"]) | ("GET", ["oauth2", "applications", "@me"]) => {
            application::current_application(hub)
        }
        ("POST", ["users", "@me", "channels"]) => application::open_dm(hub, req),

        ("GET", ["applications", _, "commands"]) => application::list_commands(hub, None),
        ("PUT", ["applications", _, "commands"]) => application::overwrite_commands(hub, None, req),
        ("POST", ["applications", _, "commands"]) => application::create_command(hub, None, req),
        ("DELETE", ["applications", _, "commands", cmd]) => {
            with_id(cmd, |c| application::delete_command(hub, None, c))
        }
        ("GET", ["applications", _, "guilds", g, "commands"]) => {
            with_id(g, |g| application::list_commands(hub, Some(g)))
        }
        ("PUT", ["applications", _, "guilds", g, "commands"]) => {
            with_id(g, |g| application::overwrite_commands(hub, Some(g), req))
        }
        ("POST", ["applications", _, "guilds", g, "commands"]) => {
            with_id(g, |g| application::create_command(hub, Some(g), req))
        }
        ("DELETE", ["applications", _, "guilds", g, "commands", cmd]) => {
            with_ids(g, cmd, |g, c| application::delete_command(hub, Some(g), c))
        }

        ("GET", ["channels", c]) => with_id(c, |c| messages::get_channel(hub, c)),
        ("GET", ["channels", c, "messages"]) => with_id(c, |c| messages::list(hub, c, req)),
        ("POST", ["channels", c, "messages"]) => with_id(c, |c| messages::create(hub, c, req)),
        ("POST", ["channels", c, "messages", "bulk-delete"]) => {
            with_id(c, |c| messages::bulk_delete(hub, c, req))
        }
        ("GET", ["channels", c, "messages", m]) => with_ids(c, m, |c, m| messages::get(hub, c, m)),
        ("PATCH", ["channels", c, "messages", m]) => {
            with_ids(c, m, |c, m| messages::edit(hub, c, m, req))
        }
        ("DELETE", ["channels", c, "messages", m]) => {
            with_ids(c, m, |c, m| messages::delete(hub, c, m))
        }
        ("POST", ["channels", _, "typing"]) => Reply::no_content(),

        ("POST", ["interactions", i, token, "callback"]) => {
            with_id(i, |i| interactions::callback(hub, i, token, req))
        }
        ("GET", ["webhooks", _, token, "messages", m]) => interactions::get_message(hub, token, m),
        ("PATCH", ["webhooks", _, token, "messages", m]) => {
            interactions::edit_message(hub, token, m, req)
        }
        ("DELETE", ["webhooks", _, token, "messages", m]) => {
            interactions::delete_message(hub, token, m)
        }
        ("POST", ["webhooks", _, token]) => interactions::followup(hub, token, req),

        ("GET", ["guilds", g]) => with_id(g, |g| guilds::get(hub, g)),
        ("GET", ["guilds", g, "channels"]) => with_id(g, |g| guilds::channels(hub, g)),
        ("GET", ["guilds", g, "roles"]) => with_id(g, |g| guilds::roles(hub, g)),
        ("GET", ["guilds", g, "members"]) => with_id(g, |g| guilds::list_members(hub, g, req)),
        ("GET", ["guilds", g, "members", u]) => {
            with_ids(g, u, |g, u| guilds::get_member(hub, g, u))
        }
        ("PATCH", ["guilds", g, "members", u]) => {
            with_ids(g, u, |g, u| guilds::edit_member(hub, g, u, req))
        }
        ("DELETE", ["guilds", g, "members", u]) => with_ids(g, u, |g, u| guilds::kick(hub, g, u)),
        ("GET", ["guilds", g, "bans"]) => with_id(g, |g| guilds::list_bans(hub, g)),
        ("GET", ["guilds", g, "bans", u]) => with_ids(g, u, |g, u| guilds::get_ban(hub, g, u)),
        ("PUT", ["guilds", g, "bans", u]) => with_ids(g, u, |g, u| guilds::ban(hub, g, u, req)),
        ("DELETE", ["guilds", g, "bans", u]) => with_ids(g, u, |g, u| guilds::unban(hub, g, u)),

        ("GET", ["guilds", g, "auto-moderation", "rules"]) => with_id(g, |g| automod::list(hub, g)),
        ("POST", ["guilds", g, "auto-moderation", "rules"]) => {
            with_id(g, |g| automod::create(hub, g, req))
        }
        ("GET", ["guilds", g, "auto-moderation", "rules", r]) => {
            with_ids(g, r, |g, r| automod::get(hub, g, r))
        }
        ("PATCH", ["guilds", g, "auto-moderation", "rules", r]) => {
            with_ids(g, r, |g, r| automod::edit(hub, g, r, req))
        }
        ("DELETE", ["guilds", g, "auto-moderation", "rules", r]) => {
            with_ids(g, r, |g, r| automod::delete(hub, g, r))
        }
        _ => Reply::error(404, 0, "404: Not Found"),
    }
}

fn with_id(segment: &str, f: impl FnOnce(u64) -> Reply) -> Reply {
    match id(segment) {
        Some(id) => f(id),
        None => Reply::invalid_snowflake(segment),
    }
}

fn with_ids(a: &str, b: &str, f: impl FnOnce(u64, u64) -> Reply) -> Reply {
    match (id(a), id(b)) {
        (Some(a), Some(b)) => f(a, b),
        (None, _) => Reply::invalid_snowflake(a),
        (_, None) => Reply::invalid_snowflake(b),
    }
}
