//! `POST /robot/sendBySession?session=…`: the sessionWebhook reply channel
//! (protocol doc §3.1, §4.4, §4.5). Answers follow the old-API shape
//! `{errcode, errmsg}`; a non-zero errcode is a failure even with HTTP 200.
//!
//! Error codes (sessionWebhook errors are undocumented, §7 item 6; these are
//! the custom-robot webhook codes from the same family):
//! - unknown session: HTTP 200, errcode 300001 "session 不存在".
//! - expired session: HTTP **500**, errcode 300001 "session 已过期". §3.1
//!   reports that expired webhooks fail and one project saw HTTP 500; the
//!   errcode repeats "no such session" because an expired session is one the
//!   platform has dropped. Deliberately not -1, which means "busy, retry".
//! - body over 20,000 bytes: errcode 460101 "message too long, exceed 20000 bytes" (§3.1).
//! - invalid JSON / missing field / unsupported msgtype: errcode 40035
//!   "缺少参数 …" (custom-robot code for a bad body).
//! - over `webhook_rate_per_min` accepted messages to one conversation in a
//!   rolling 60 s: errcode 130101 "send too fast, exceed 20 times per minute" (§4.4).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api_error::old_api_error;
use crate::clock::now_ms;
use crate::message::ReceivedMessage;
use crate::state::SimState;

pub const MAX_BODY_BYTES: usize = 20_000;
pub const ERR_SESSION: i64 = 300_001;
pub const ERR_TOO_LONG: i64 = 460_101;
pub const ERR_BAD_BODY: i64 = 40_035;
pub const ERR_TOO_FAST: i64 = 130_101;

struct Session {
    conversation_id: String,
    expires_ms: i64,
}

#[derive(Default)]
pub struct WebhookState {
    sessions: HashMap<String, Session>,
    /// Accept times per conversation within the rolling window.
    windows: HashMap<String, VecDeque<Instant>>,
}

impl WebhookState {
    pub fn register_session(&mut self, key: String, conversation_id: String, expires_ms: i64) {
        self.sessions.insert(
            key,
            Session {
                conversation_id,
                expires_ms,
            },
        );
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/robot/sendBySession", post(send_by_session))
}

/// A refused webhook call: HTTP status plus the old-API error body.
struct Refusal {
    status: StatusCode,
    errcode: i64,
    errmsg: String,
}

impl Refusal {
    fn ok_status(errcode: i64, errmsg: impl Into<String>) -> Self {
        Self {
            status: StatusCode::OK,
            errcode,
            errmsg: errmsg.into(),
        }
    }
}

/// What a valid webhook body says.
struct Parsed {
    msgtype: String,
    title: Option<String>,
    text: String,
}

async fn send_by_session(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let result = accept(&state, query.get("session").map(String::as_str), &body);
    let mut inner = state.lock();
    match result {
        Ok(()) => {
            inner.stats.webhook_accepted += 1;
            Json(json!({"errcode": 0, "errmsg": "ok"})).into_response()
        }
        Err(r) => {
            inner.stats.webhook_rejected += 1;
            old_api_error(r.status, r.errcode, &r.errmsg)
        }
    }
}

fn accept(state: &SimState, session: Option<&str>, body: &[u8]) -> Result<(), Refusal> {
    let conversation_id = {
        let inner = state.lock();
        let found = session.and_then(|s| inner.webhooks.sessions.get(s));
        let Some(found) = found else {
            return Err(Refusal::ok_status(ERR_SESSION, "session 不存在"));
        };
        if now_ms() > found.expires_ms {
            return Err(Refusal {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                errcode: ERR_SESSION,
                errmsg: "session 已过期".to_owned(),
            });
        }
        found.conversation_id.clone()
    };
    if body.len() > MAX_BODY_BYTES {
        return Err(Refusal::ok_status(
            ERR_TOO_LONG,
            "message too long, exceed 20000 bytes",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Refusal::ok_status(ERR_BAD_BODY, "缺少参数 json"))?;
    let parsed = parse_body(&value).map_err(|e| Refusal::ok_status(ERR_BAD_BODY, e))?;

    let now = Instant::now();
    let mut inner = state.lock();
    let window = inner
        .webhooks
        .windows
        .entry(conversation_id.clone())
        .or_default();
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= state.config.rate_window)
    {
        window.pop_front();
    }
    if window.len() >= state.config.webhook_rate_per_min as usize {
        let limit = state.config.webhook_rate_per_min;
        return Err(Refusal::ok_status(
            ERR_TOO_FAST,
            format!("send too fast, exceed {limit} times per minute"),
        ));
    }
    window.push_back(now);
    inner
        .received
        .entry(conversation_id.clone())
        .or_default()
        .push(ReceivedMessage {
            conversation_id,
            channel: "webhook".to_owned(),
            msgtype: parsed.msgtype,
            title: parsed.title,
            text: parsed.text,
            body: value,
            at_ms: now_ms(),
        });
    Ok(())
}

/// Validate a webhook message body (D-TYPES "方式二"); the error is the errmsg.
fn parse_body(v: &Value) -> Result<Parsed, String> {
    let msgtype = v
        .get("msgtype")
        .and_then(Value::as_str)
        .ok_or_else(|| "缺少参数 msgtype".to_owned())?;
    let field = |obj: &str, name: &str| -> Result<String, String> {
        v.get(obj)
            .and_then(|o| o.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("缺少参数 {obj}.{name}"))
    };
    let (title, text) = match msgtype {
        "text" => (None, field("text", "content")?),
        "markdown" => (
            Some(field("markdown", "title")?),
            field("markdown", "text")?,
        ),
        "actionCard" => (
            Some(field("actionCard", "title")?),
            field("actionCard", "text")?,
        ),
        "link" => {
            field("link", "messageUrl")?;
            (Some(field("link", "title")?), field("link", "text")?)
        }
        "feedCard" => {
            let links = v
                .get("feedCard")
                .and_then(|f| f.get("links"))
                .and_then(Value::as_array)
                .ok_or_else(|| "缺少参数 feedCard.links".to_owned())?;
            let titles: Vec<&str> = links
                .iter()
                .filter_map(|l| l.get("title").and_then(Value::as_str))
                .collect();
            (None, titles.join("\n"))
        }
        // A deliberate "no reply" (D-TYPES).
        "empty" => (None, String::new()),
        other => return Err(format!("不支持的消息类型 msgtype: {other}")),
    };
    Ok(Parsed {
        msgtype: msgtype.to_owned(),
        title,
        text,
    })
}

impl SimState {
    /// Messages our client sent into `conversation_id`, in arrival order.
    pub fn received(&self, conversation_id: &str) -> Vec<ReceivedMessage> {
        self.lock()
            .received
            .get(conversation_id)
            .cloned()
            .unwrap_or_default()
    }
}
