//! A REST answer (status, optional JSON body, extra headers) and Discord's error bodies, which
//! always carry `code` and `message` (serenity cannot decode an error without `code`).

use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply {
            status: 200,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub fn created(body: Value) -> Self {
        Reply {
            status: 201,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub fn no_content() -> Self {
        Reply {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    pub fn error(status: u16, code: u32, message: &str) -> Self {
        Reply {
            status,
            body: Some(json!({"message": message, "code": code})),
            headers: Vec::new(),
        }
    }

    pub fn invalid_snowflake(segment: &str) -> Self {
        Reply {
            status: 400,
            body: Some(json!({
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": {"_errors": [{"code": "NUMBER_TYPE_COERCE",
                    "message": format!("Value \"{segment}\" is not snowflake.")}]},
            })),
            headers: Vec::new(),
        }
    }

    pub fn unknown_channel() -> Self {
        Self::error(404, 10003, "Unknown Channel")
    }

    pub fn unknown_message() -> Self {
        Self::error(404, 10008, "Unknown Message")
    }

    pub fn unknown_guild() -> Self {
        Self::error(404, 10004, "Unknown Guild")
    }

    pub fn unknown_member() -> Self {
        Self::error(404, 10007, "Unknown Member")
    }

    pub fn unknown_user() -> Self {
        Self::error(404, 10013, "Unknown User")
    }

    pub fn unknown_interaction() -> Self {
        Self::error(404, 10062, "Unknown interaction")
    }

    pub fn unknown_webhook() -> Self {
        Self::error(404, 10015, "Unknown Webhook")
    }

    pub fn bad_form(message: &str) -> Self {
        Reply {
            status: 400,
            body: Some(json!({"message": "Invalid Form Body", "code": 50035,
                "errors": {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}})),
            headers: Vec::new(),
        }
    }
}
