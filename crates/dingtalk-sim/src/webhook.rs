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
//!
//! Armed answers (`Faults::webhook_answers`, control API `webhook_answer`) replace the next calls' answers
//! with any errcode of the webhook family, with DingTalk's own errmsg and HTTP status: the custom-robot
//! table of https://open.dingtalk.com/document/development/custom-robots-send-group-messages ("错误码":
//! -1, 40035, 43004, 400013, 400101, 400102, 400105, 400106, 410100, 430101–430104, 310000) plus the
//! field answers 300001 "session 不存在" (https://github.com/agentscope-ai/QwenPaw/issues/2221), 300005
//! "token is not exist", 130101, 660026 and 460101 (protocol notes §3.1, §4.4). Nothing is delivered.

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

/// One armed answer: HTTP status and body, sent instead of processing the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmedAnswer {
    pub status: u16,
    pub body: String,
}

impl ArmedAnswer {
    /// DingTalk's answer for `errcode` (HTTP 200, `{errcode, errmsg}`; -1 "busy" as HTTP 200 too).
    pub fn errcode(errcode: i64) -> Self {
        let errmsg = documented_errmsg(errcode);
        Self {
            status: 200,
            body: json!({"errcode": errcode, "errmsg": errmsg}).to_string(),
        }
    }

    /// An answer outside the documented shape (a gateway page, an empty 502, ...).
    pub fn raw(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }
}

/// The errmsg DingTalk sends with each documented webhook errcode (sources in the module docs).
pub fn documented_errmsg(errcode: i64) -> &'static str {
    match errcode {
        0 => "ok",
        -1 => "系统繁忙",
        40_035 => "缺少参数 json",
        43_004 => "无效的HTTP HEADER Content-Type",
        130_101 => "send too fast, exceed 20 times per minute",
        300_001 => "session 不存在",
        300_005 => "token is not exist",
        310_000 => "keywords not in content",
        400_013 => "群已被解散",
        400_101 => "access_token不存在",
        400_102 => "机器人已停用",
        400_105 => "不支持的消息类型",
        400_106 => "机器人不存在",
        410_100 => "发送速度太快而限流",
        430_101 => "含有不安全的外链",
        430_102 => "含有不合适的文本",
        430_103 => "含有不合适的图片",
        430_104 => "含有不合适的内容",
        460_101 => "message too long, exceed 20000 bytes",
        660_026 => "sending too many messages per minute",
        _ => "unknown error",
    }
}

/// Every failure errcode [`documented_errmsg`] knows.
pub const DOCUMENTED_ERRCODES: [i64; 19] = [
    -1, 40_035, 43_004, 130_101, 300_001, 300_005, 310_000, 400_013, 400_101, 400_102, 400_105,
    400_106, 410_100, 430_101, 430_102, 430_103, 430_104, 460_101, 660_026,
];

#[derive(Default)]
pub struct WebhookState {
    sessions: HashMap<String, Session>,
    /// Accept times per conversation within the rolling window.
    windows: HashMap<String, VecDeque<Instant>>,
    /// Answers for the next calls, in order.
    armed: VecDeque<ArmedAnswer>,
    /// Every call that reached the webhook, armed answers included.
    pub(crate) calls: u64,
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
    let armed = {
        let mut inner = state.lock();
        inner.webhooks.calls += 1;
        inner.webhooks.armed.pop_front()
    };
    if let Some(answer) = armed {
        state.lock().stats.webhook_rejected += 1;
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
        return (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            answer.body,
        )
            .into_response();
    }
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

impl crate::Faults {
    /// The next `count` webhook calls answer `errcode` with DingTalk's errmsg (HTTP 200), delivering nothing.
    pub fn webhook_answers(&self, errcode: i64, count: u32) {
        self.arm_webhook(ArmedAnswer::errcode(errcode), count);
    }

    /// The next `count` webhook calls get `answer` verbatim.
    pub fn arm_webhook(&self, answer: ArmedAnswer, count: u32) {
        let mut inner = self.state().lock();
        for _ in 0..count {
            inner.webhooks.armed.push_back(answer.clone());
        }
    }
}

impl crate::Sim {
    /// A fresh sessionWebhook into `conversation_id`, as a bot message would carry it; returns
    /// (URL, `sessionWebhookExpiredTime`). For client tests that reply without a Stream connection.
    pub fn open_webhook(&self, conversation_id: &str) -> (String, i64) {
        let key = crate::ids::session_key();
        let ttl = i64::try_from(self.config().webhook_ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = now_ms().saturating_add(ttl);
        self.state().lock().webhooks.register_session(
            key.clone(),
            conversation_id.to_owned(),
            expires_ms,
        );
        (
            format!("{}/robot/sendBySession?session={key}", self.base_url()),
            expires_ms,
        )
    }

    /// Calls that reached the sessionWebhook endpoint, armed answers included.
    pub fn webhook_calls(&self) -> u64 {
        self.state().lock().webhooks.calls
    }
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
