//! Proactive robot sends (protocol doc §3.2): `POST /v1.0/robot/oToMessages/batchSend` and
//! `POST /v1.0/robot/groupMessages/send`, with the checks the real API makes (token, robotCode = the app's
//! clientId, msgKey catalogue, msgParam a JSON *string* of at most 15,000 bytes, group known) and real
//! throttling:
//! - per app and API: more than `send_qps` calls in a rolling second → 403
//!   `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi` (§4.4);
//! - per conversation: more than `webhook_rate_per_min` delivered messages in a rolling minute → group:
//!   400 `send.too.fast` (§3.2 error table, HTTP 400 unless noted); 1:1: HTTP 200 with the user in
//!   `flowControlledStaffIdList` (D-OTO: "users throttled this time"), nothing delivered.
//!
//! Delivered messages land in the same per-conversation list as webhook replies, with `channel` "oto" or
//! "group" (a 1:1 message to user U lands in `one_to_one_conversation_id(U)`).

// Handlers refuse with a ready axum `Response`; boxing it on this cold path buys nothing.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api_error::new_api_error;
use crate::clock::now_ms;
use crate::ids;
use crate::message::{ConversationType, ReceivedMessage};
use crate::state::{Inner, SimState};

pub const OTO_PATH: &str = "/v1.0/robot/oToMessages/batchSend";
pub const GROUP_PATH: &str = "/v1.0/robot/groupMessages/send";
/// D-GRP: msgParam ≤ 15,000 bytes (batchSend has the same error code; the sim applies the same number).
pub const MAX_MSG_PARAM_BYTES: usize = 15_000;
/// D-OTO: at most 20 userIds per call (the page's own table says 100; §7 item 3 — use the stricter).
pub const MAX_USER_IDS: usize = 20;
const SECOND: Duration = Duration::from_secs(1);

/// Known recipients, rolling windows and armed faults of the robot send APIs.
#[derive(Default)]
pub struct RobotSendState {
    /// Groups the robot is in: group conversations seen in injected messages or added by tests.
    pub(crate) groups: HashSet<String>,
    /// Staff ids that talked to the robot (besides the org directory).
    pub(crate) staff: HashSet<String>,
    /// Call times per API path within the last second (per-app QPS).
    qps: HashMap<String, VecDeque<Instant>>,
    /// Delivery times per conversation within the last minute.
    per_conversation: HashMap<String, VecDeque<Instant>>,
    /// The next N sends are throttled at the robot level (`send.too.fast` / flow-controlled).
    pub(crate) throttle_sends: u32,
}

impl RobotSendState {
    /// Remember the conversation of an inbound message: the robot is in that group / knows that user.
    pub fn note_inbound(&mut self, conversation_id: &str, kind: ConversationType, staff_id: &str) {
        if kind == ConversationType::Group {
            self.groups.insert(conversation_id.to_owned());
        }
        if !staff_id.is_empty() {
            self.staff.insert(staff_id.to_owned());
        }
    }

    /// Per-app per-API QPS: records the call and says whether it is over `limit`.
    pub(crate) fn over_qps(&mut self, path: &str, limit: u32) -> bool {
        let now = Instant::now();
        let window = self.qps.entry(path.to_owned()).or_default();
        trim(window, now, SECOND);
        if window.len() >= limit as usize {
            return true;
        }
        window.push_back(now);
        false
    }

    /// Per-conversation budget per rolling `window` (DingTalk: a minute): takes a slot if one is free.
    fn take_conversation_slot(
        &mut self,
        conversation_id: &str,
        limit: u32,
        window_span: Duration,
    ) -> bool {
        let now = Instant::now();
        let window = self
            .per_conversation
            .entry(conversation_id.to_owned())
            .or_default();
        trim(window, now, window_span);
        if window.len() >= limit as usize {
            return false;
        }
        window.push_back(now);
        true
    }

    fn take_forced_throttle(&mut self) -> bool {
        if self.throttle_sends > 0 {
            self.throttle_sends -= 1;
            return true;
        }
        false
    }
}

fn trim(window: &mut VecDeque<Instant>, now: Instant, span: Duration) {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= span)
    {
        window.pop_front();
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route(OTO_PATH, post(batch_send))
        .route(GROUP_PATH, post(group_send))
}

fn bad(code: &str, message: &str) -> Response {
    new_api_error(StatusCode::BAD_REQUEST, code, message)
}

/// New-API token check (§4.1): header only; missing → `MissingParameter`, unknown/expired →
/// `InvalidAuthentication`.
pub(crate) fn check_token(state: &SimState, headers: &HeaderMap) -> Result<(), Response> {
    match headers
        .get("x-acs-dingtalk-access-token")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("") => Err(bad(
            "AuthenticationFailed.MissingParameter",
            "缺少参数 x-acs-dingtalk-access-token",
        )),
        Some(token) if state.validate_token(token) => Ok(()),
        Some(_) => Err(bad("InvalidAuthentication", "不合法的access_token")),
    }
}

/// The QPS answer of the API gateway.
pub(crate) fn qps_limited() -> Response {
    new_api_error(
        StatusCode::FORBIDDEN,
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "The API call frequency exceeds the limit for this appkey.",
    )
}

/// A parsed, valid send.
struct Message {
    msgtype: String,
    title: Option<String>,
    text: String,
}

/// Checks shared by both APIs: JSON body, robotCode, msgKey, msgParam.
fn parse_common(state: &SimState, body: &[u8]) -> Result<(Value, Message), Response> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| bad("invalidParameter.body.invalid", "请求体不是合法的 JSON"))?;
    match value.get("robotCode").and_then(Value::as_str) {
        None | Some("") => {
            return Err(bad(
                "invalidParameter.robotCode.empty",
                "robotCode 不能为空",
            ));
        }
        Some(code) if code != state.config.client_id => {
            return Err(bad("invalidParameter.robotCode.notExsit", "robot 不存在"));
        }
        Some(_) => {}
    }
    let msg_key = value
        .get("msgKey")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // The param must be a JSON object serialized into a string; an object is the classic client bug.
    let Some(param_text) = value.get("msgParam").and_then(Value::as_str) else {
        return Err(bad(
            "invalidParameter.msgParam.invalid",
            "msgParam 必须是 JSON 字符串",
        ));
    };
    if param_text.len() > MAX_MSG_PARAM_BYTES {
        return Err(bad(
            "invalidParameter.msgParam.tooLong",
            "msgParam 超过 15000 字节",
        ));
    }
    let param: Value = serde_json::from_str(param_text).map_err(|_| {
        bad(
            "invalidParameter.msgParam.invalid",
            "msgParam 不是合法的 JSON",
        )
    })?;
    let field = |name: &str| param.get(name).and_then(Value::as_str).map(str::to_owned);
    let missing = || bad("invalidParameter.msgParam.invalid", "msgParam 缺少必填字段");
    let message = match msg_key.as_str() {
        "sampleText" => Message {
            msgtype: "text".to_owned(),
            title: None,
            text: field("content").ok_or_else(missing)?,
        },
        "sampleMarkdown" => Message {
            msgtype: "markdown".to_owned(),
            title: Some(field("title").ok_or_else(missing)?),
            text: field("text").ok_or_else(missing)?,
        },
        "sampleImageMsg" | "sampleLink" | "sampleActionCard" | "sampleActionCard2"
        | "sampleActionCard3" | "sampleActionCard4" | "sampleActionCard5" | "sampleActionCard6"
        | "sampleAudio" | "sampleFile" | "sampleVideo" => Message {
            msgtype: msg_key.clone(),
            title: field("title"),
            text: field("text").unwrap_or_default(),
        },
        _ => return Err(bad("invalidParameter.msgKey.invalid", "msgKey 不合法")),
    };
    Ok((value, message))
}

fn record(inner: &mut Inner, conversation_id: &str, channel: &str, m: &Message, body: &Value) {
    inner
        .received
        .entry(conversation_id.to_owned())
        .or_default()
        .push(ReceivedMessage {
            conversation_id: conversation_id.to_owned(),
            channel: channel.to_owned(),
            msgtype: m.msgtype.clone(),
            title: m.title.clone(),
            text: m.text.clone(),
            body: body.clone(),
            at_ms: now_ms(),
        });
}

async fn group_send(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(answer) = check_token(&state, &headers) {
        return answer;
    }
    let (value, message) = match parse_common(&state, &body) {
        Ok(parsed) => parsed,
        Err(answer) => return answer,
    };
    let Some(cid) = value.get("openConversationId").and_then(Value::as_str) else {
        return bad(
            "invalidParameter.openConversationId.empty",
            "openConversationId 不能为空",
        );
    };
    let mut inner = state.lock();
    if inner.robot.over_qps(GROUP_PATH, state.config.send_qps) {
        return qps_limited();
    }
    if !inner.robot.groups.contains(cid) {
        // §3.2: the robot must be in the group; DingTalk answers robotCode.empty for that.
        return bad(
            "invalidParameter.robotCode.empty",
            "机器人不在该群中, check the robot is in the group",
        );
    }
    if inner.robot.take_forced_throttle()
        || !inner.robot.take_conversation_slot(
            cid,
            state.config.webhook_rate_per_min,
            state.config.rate_window,
        )
    {
        return bad("send.too.fast", "发送太快，请稍后重试");
    }
    record(&mut inner, cid, "group", &message, &value);
    Json(json!({"processQueryKey": process_query_key()})).into_response()
}

async fn batch_send(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(answer) = check_token(&state, &headers) {
        return answer;
    }
    let (value, message) = match parse_common(&state, &body) {
        Ok(parsed) => parsed,
        Err(answer) => return answer,
    };
    let user_ids: Vec<String> = value
        .get("userIds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if user_ids.is_empty() {
        return bad("invalidParameter.userIds.empty", "userIds 不能为空");
    }
    if user_ids.len() > MAX_USER_IDS {
        return bad("invalidParameter.userIds.overMax", "userIds 超过上限");
    }
    let mut inner = state.lock();
    if inner.robot.over_qps(OTO_PATH, state.config.send_qps) {
        return qps_limited();
    }
    let forced = inner.robot.take_forced_throttle();
    let mut invalid = Vec::new();
    let mut flow_controlled = Vec::new();
    for user in &user_ids {
        let known =
            inner.robot.staff.contains(user) || inner.openapi.directory.by_user_id(user).is_some();
        if !known {
            invalid.push(user.clone());
            continue;
        }
        let cid = ids::one_to_one_conversation_id(user);
        if forced
            || !inner.robot.take_conversation_slot(
                &cid,
                state.config.webhook_rate_per_min,
                state.config.rate_window,
            )
        {
            flow_controlled.push(user.clone());
            continue;
        }
        record(&mut inner, &cid, "oto", &message, &value);
    }
    Json(json!({
        "processQueryKey": process_query_key(),
        "invalidStaffIdList": invalid,
        "flowControlledStaffIdList": flow_controlled,
    }))
    .into_response()
}

fn process_query_key() -> String {
    format!("pqk{}", uuid::Uuid::new_v4().simple())
}

impl crate::Sim {
    /// The robot is now in group `conversation_id` (injecting a group message does this too).
    pub fn add_group(&self, conversation_id: &str) {
        self.state()
            .lock()
            .robot
            .groups
            .insert(conversation_id.to_owned());
    }
}

impl crate::Faults {
    /// The next `count` robot sends are throttled by the robot platform: a group send answers 400
    /// `send.too.fast`, a 1:1 send lists every recipient in `flowControlledStaffIdList`. (For the
    /// gateway's 403 QPS answer use `throttle_next(path, count)`.)
    pub fn throttle_sends(&self, count: u32) {
        self.state().lock().robot.throttle_sends = count;
    }
}
