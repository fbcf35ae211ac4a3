//! AI cards (protocol doc §3.5 B): `POST /v1.0/card/instances/createAndDeliver` and
//! `PUT /v1.0/card/streaming`, with each card's state (processing → inputting → finished | failed), its
//! content and every update's time kept for tests (`Sim::card`, `Sim::cards`).
//!
//! Checks: token; `cardTemplateId`, `outTrackId`, `openSpaceId` present; `callbackType` `STREAM`|`HTTP`;
//! `cardData.cardParamMap` values are strings of ≤1 KB; `openSpaceId` is `dtv1.card//IM_GROUP.<cid>` (a
//! group the robot is in, with `imGroupOpenDeliverModel.robotCode` = clientId) or
//! `dtv1.card//IM_ROBOT.<userId>` (a known user — a 1:1 conversationId there is "spaceId is illegal", as in
//! the field — with `imRobotOpenDeliverModel.spaceType` = `IM_ROBOT`). Streaming: unknown `outTrackId` →
//! 400; `guid` required and idempotent (a repeated guid is acknowledged, not applied twice); content over
//! `card_max_content_bytes` → 400 `param.stream.content` "content is too large"; updates after finished or
//! failed → 400. Both calls count against the per-app QPS (`send_qps`).
//!
//! A delivered card is also recorded in the conversation's received list (`channel` "card"); its `text` there
//! follows the streamed content.

// Handlers refuse with a ready axum `Response`; boxing it on this cold path buys nothing.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api_error::new_api_error;
use crate::clock::now_ms;
use crate::ids;
use crate::message::ReceivedMessage;
use crate::robot_send::{check_token, qps_limited};
use crate::state::{Inner, SimState};

pub const CREATE_PATH: &str = "/v1.0/card/instances/createAndDeliver";
pub const STREAMING_PATH: &str = "/v1.0/card/streaming";
/// D-CAD: cardParamMap values ≤ 1 KB.
pub const MAX_PARAM_VALUE_BYTES: usize = 1_024;

/// AI card states (§3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Processing,
    Inputting,
    Finished,
    Failed,
}

/// One accepted streaming call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardUpdate {
    pub at_ms: i64,
    pub key: String,
    pub content: String,
    pub is_finalize: bool,
    pub is_error: bool,
}

/// A card as the simulated cloud holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCard {
    pub out_track_id: String,
    pub template_id: String,
    /// The group's conversationId, or the user's 1:1 conversationId.
    pub conversation_id: String,
    /// `IM_GROUP` or `IM_ROBOT`.
    pub space_type: String,
    pub params: BTreeMap<String, String>,
    pub status: CardStatus,
    /// Streamed content per variable key.
    pub content: BTreeMap<String, String>,
    /// Accepted streaming calls in order (repeated guids not included).
    pub updates: Vec<CardUpdate>,
    pub created_ms: i64,
}

impl SimCard {
    /// The content of the most recently streamed key ("" before any update).
    pub fn text(&self) -> String {
        self.updates
            .last()
            .and_then(|u| self.content.get(&u.key))
            .cloned()
            .unwrap_or_default()
    }

    pub fn update_count(&self) -> usize {
        self.updates.len()
    }

    pub fn update_times_ms(&self) -> Vec<i64> {
        self.updates.iter().map(|u| u.at_ms).collect()
    }
}

#[derive(Default)]
pub struct CardStore {
    cards: HashMap<String, SimCard>,
    /// Insertion order, for `cards(conversation_id)`.
    order: Vec<String>,
    guids: HashSet<(String, String)>,
    /// The next N card calls answer HTTP 500.
    pub(crate) fail_next: u32,
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route(CREATE_PATH, post(create_and_deliver))
        .route(STREAMING_PATH, put(streaming))
}

fn bad(code: &str, message: &str) -> Response {
    new_api_error(StatusCode::BAD_REQUEST, code, message)
}

/// Token, injected failure, QPS: the gate in front of both card calls.
fn gate(state: &SimState, headers: &HeaderMap, path: &str) -> Result<(), Response> {
    check_token(state, headers)?;
    let mut inner = state.lock();
    if inner.cards.fail_next > 0 {
        inner.cards.fail_next -= 1;
        return Err(new_api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "system.error",
            "系统错误",
        ));
    }
    if inner.robot.over_qps(path, state.config.send_qps) {
        return Err(qps_limited());
    }
    Ok(())
}

fn text_field<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

async fn create_and_deliver(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(answer) = gate(&state, &headers, CREATE_PATH) {
        return answer;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad("invalidParameter.body.invalid", "请求体不是合法的 JSON");
    };
    let (Some(template_id), Some(out_track_id), Some(space_id)) = (
        text_field(&v, "cardTemplateId"),
        text_field(&v, "outTrackId"),
        text_field(&v, "openSpaceId"),
    ) else {
        return bad(
            "param.missing",
            "cardTemplateId, outTrackId and openSpaceId are required",
        );
    };
    if !matches!(
        v.get("callbackType").and_then(Value::as_str),
        None | Some("STREAM") | Some("HTTP")
    ) {
        return bad(
            "param.callbackType.invalid",
            "callbackType must be STREAM or HTTP",
        );
    }
    let params = match param_map(&v) {
        Ok(params) => params,
        Err(answer) => return answer,
    };
    let mut inner = state.lock();
    let (space_type, conversation_id) = match resolve_space(&state, &inner, &v, space_id) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    // A repeated createAndDeliver of the same card (client retry) is acknowledged, not delivered twice.
    if !inner.cards.cards.contains_key(out_track_id) {
        let card = SimCard {
            out_track_id: out_track_id.to_owned(),
            template_id: template_id.to_owned(),
            conversation_id: conversation_id.clone(),
            space_type: space_type.to_owned(),
            params: params.clone(),
            status: CardStatus::Processing,
            content: BTreeMap::new(),
            updates: Vec::new(),
            created_ms: now_ms(),
        };
        inner.cards.order.push(out_track_id.to_owned());
        inner.cards.cards.insert(out_track_id.to_owned(), card);
        inner
            .received
            .entry(conversation_id.clone())
            .or_default()
            .push(ReceivedMessage {
                conversation_id: conversation_id.clone(),
                channel: "card".to_owned(),
                msgtype: "card".to_owned(),
                title: Some(template_id.to_owned()),
                text: params.get("content").cloned().unwrap_or_default(),
                body: v.clone(),
                at_ms: now_ms(),
            });
    }
    let space = format!(
        "{space_type}.{}",
        space_id.rsplit('.').next().unwrap_or_default()
    );
    Json(json!({
        "success": true,
        "result": {
            "outTrackId": out_track_id,
            "deliverResults": [{"spaceType": space_type, "spaceId": space, "success": true,
                                "carrierId": ids::request_id()}],
        },
    }))
    .into_response()
}

fn param_map(v: &Value) -> Result<BTreeMap<String, String>, Response> {
    let mut params = BTreeMap::new();
    let map = v
        .get("cardData")
        .and_then(|d| d.get("cardParamMap"))
        .and_then(Value::as_object);
    for (key, value) in map.into_iter().flatten() {
        // map<string, string>: numbers/objects must be serialized by the client.
        let Some(text) = value.as_str() else {
            return Err(bad(
                "param.cardParamMap.invalid",
                "cardParamMap values must be strings",
            ));
        };
        if text.len() > MAX_PARAM_VALUE_BYTES {
            return Err(bad(
                "param.cardParamMap.tooLong",
                "cardParamMap value exceeds 1KB",
            ));
        }
        params.insert(key.clone(), text.to_owned());
    }
    Ok(params)
}

/// (`IM_GROUP`|`IM_ROBOT`, conversation id) of a valid `openSpaceId` with its deliver model.
fn resolve_space(
    state: &SimState,
    inner: &Inner,
    v: &Value,
    space_id: &str,
) -> Result<(&'static str, String), Response> {
    let illegal = || bad("spaceId.illegal", "spaceId is illegal");
    let client_id = state.config.client_id.as_str();
    if let Some(cid) = space_id.strip_prefix("dtv1.card//IM_GROUP.") {
        let robot = v
            .get("imGroupOpenDeliverModel")
            .and_then(|m| m.get("robotCode"))
            .and_then(Value::as_str);
        if robot != Some(client_id) {
            return Err(bad(
                "invalidParameter.robotCode.notExsit",
                "imGroupOpenDeliverModel.robotCode must be the robot",
            ));
        }
        if !inner.robot.groups.contains(cid) {
            return Err(illegal());
        }
        return Ok(("IM_GROUP", cid.to_owned()));
    }
    if let Some(user) = space_id.strip_prefix("dtv1.card//IM_ROBOT.") {
        let model = v.get("imRobotOpenDeliverModel");
        if model
            .and_then(|m| m.get("spaceType"))
            .and_then(Value::as_str)
            != Some("IM_ROBOT")
        {
            return Err(bad(
                "param.imRobotOpenDeliverModel.invalid",
                "imRobotOpenDeliverModel.spaceType must be IM_ROBOT",
            ));
        }
        let known =
            inner.robot.staff.contains(user) || inner.openapi.directory.by_user_id(user).is_some();
        if !known {
            return Err(illegal());
        }
        return Ok(("IM_ROBOT", ids::one_to_one_conversation_id(user)));
    }
    Err(illegal())
}

async fn streaming(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(answer) = gate(&state, &headers, STREAMING_PATH) {
        return answer;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad("invalidParameter.body.invalid", "请求体不是合法的 JSON");
    };
    let (Some(out_track_id), Some(guid), Some(key)) = (
        text_field(&v, "outTrackId"),
        text_field(&v, "guid"),
        text_field(&v, "key"),
    ) else {
        return bad("param.missing", "outTrackId, guid and key are required");
    };
    let content = v.get("content").and_then(Value::as_str).unwrap_or_default();
    let flag = |name: &str| v.get(name).and_then(Value::as_bool).unwrap_or(false);
    let (is_full, is_finalize, is_error) = (flag("isFull"), flag("isFinalize"), flag("isError"));
    if content.len() > state.config.card_max_content_bytes {
        return bad("param.stream.content", "content is too large");
    }
    let mut inner = state.lock();
    let inner = &mut *inner;
    let Some(card) = inner.cards.cards.get_mut(out_track_id) else {
        return bad(
            "param.outTrackId.notExist",
            "card instance not found for outTrackId",
        );
    };
    if !inner
        .cards
        .guids
        .insert((out_track_id.to_owned(), guid.to_owned()))
    {
        return Json(json!({"success": true, "result": true})).into_response();
    }
    if matches!(card.status, CardStatus::Finished | CardStatus::Failed) {
        return bad(
            "param.card.finished",
            "the card has already finished streaming",
        );
    }
    let slot = card.content.entry(key.to_owned()).or_default();
    if is_full {
        *slot = content.to_owned();
    } else {
        slot.push_str(content);
    }
    let text = slot.clone();
    card.status = if is_error {
        CardStatus::Failed
    } else if is_finalize {
        CardStatus::Finished
    } else {
        CardStatus::Inputting
    };
    card.updates.push(CardUpdate {
        at_ms: now_ms(),
        key: key.to_owned(),
        content: text.clone(),
        is_finalize,
        is_error,
    });
    // What the user sees in the conversation follows the stream.
    if let Some(message) = inner
        .received
        .get_mut(&card.conversation_id)
        .and_then(|list| {
            list.iter_mut().rev().find(|m| {
                m.channel == "card"
                    && m.body.get("outTrackId").and_then(Value::as_str) == Some(out_track_id)
            })
        })
    {
        message.text = text;
    }
    Json(json!({"success": true, "result": true})).into_response()
}

impl crate::Sim {
    /// A card by `outTrackId`.
    pub fn card(&self, out_track_id: &str) -> Option<SimCard> {
        self.state().lock().cards.cards.get(out_track_id).cloned()
    }

    /// Cards delivered into a conversation, in creation order.
    pub fn cards(&self, conversation_id: &str) -> Vec<SimCard> {
        let inner = self.state().lock();
        inner
            .cards
            .order
            .iter()
            .filter_map(|id| inner.cards.cards.get(id))
            .filter(|c| c.conversation_id == conversation_id)
            .cloned()
            .collect()
    }
}

impl crate::Faults {
    /// The next `count` card calls (createAndDeliver or streaming) answer HTTP 500 `system.error`.
    pub fn fail_cards(&self, count: u32) {
        self.state().lock().cards.fail_next = count;
    }
}
