//! The `/_sim` control API: JSON over HTTP for the demo, non-Rust tests and
//! humans. Never subject to injected HTTP faults.
//!
//! - `POST /_sim/messages` — body: [`InjectMessage`] → `{"msgId": "..."}`
//! - `POST /_sim/raw-frame` — body `{"text": "..."}` or any non-JSON-object text, sent verbatim
//! - `POST /_sim/duplicate/{msgId}` → `{"ok": true}` or 404
//! - `POST /_sim/faults` — any of `{"drop_sockets":true, "disconnect":true, "zombify":true,
//!   "gateway_failures":{"status":503,"count":3}, "latency_ms":200, "http_5xx_rate":0.1,
//!   "clear":true, "webhook_answer":{"errcode":400013,"count":1}}` (`clear` is applied first;
//!   `webhook_answer` may instead carry `"status":502,"body":"..."` for an answer outside the documented shape)
//! - `GET /_sim/conversations/{id}/received` (id percent-encoded: real ids contain `/`, `+`, `=`)
//! - `GET /_sim/received?conversation_id=...` (same, query form)
//! - `GET /_sim/stats` → [`SimStats`](crate::SimStats)
//! - `GET /_sim/ack-latencies` → `{"ms": [..]}`
//! - `GET /_sim/info` → base URL, client id, app id
//! - `POST /_sim/burst` — body [`BurstRequest`](crate::burst::BurstRequest)
//!   `{"count":200000,"conversations":10000,"group_every":3,"prefix":"load","window":500}` → `{"ok":true}`
//!   at once; the messages follow in the background (watch `acks_received` in `/_sim/stats`)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::Faults;
use crate::message::InjectMessage;
use crate::state::SimState;
use crate::webhook::ArmedAnswer;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_sim/messages", post(inject))
        .route("/_sim/raw-frame", post(raw_frame))
        .route("/_sim/duplicate/{msg_id}", post(duplicate))
        .route("/_sim/faults", post(faults))
        .route("/_sim/conversations/{id}/received", get(received_by_path))
        .route("/_sim/received", get(received_by_query))
        .route("/_sim/stats", get(stats))
        .route("/_sim/ack-latencies", get(ack_latencies))
        .route("/_sim/info", get(info))
        .route("/_sim/burst", post(burst))
}

async fn burst(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let request: crate::burst::BurstRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return bad_request(format!("invalid burst request: {e}")),
    };
    if let Err(message) = request.validate() {
        return bad_request(message);
    }
    crate::burst::start(state, request);
    Json(json!({ "ok": true })).into_response()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

async fn inject(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    match serde_json::from_slice::<InjectMessage>(&body) {
        Ok(msg) => Json(json!({ "msgId": state.inject(&msg) })).into_response(),
        Err(e) => bad_request(format!("invalid InjectMessage: {e}")),
    }
}

async fn raw_frame(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let text = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(o)) if o.get("text").is_some_and(Value::is_string) => o
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::from_utf8_lossy(&body).into_owned(),
    };
    state.inject_raw_frame(text);
    Json(json!({ "ok": true })).into_response()
}

async fn duplicate(State(state): State<Arc<SimState>>, Path(msg_id): Path<String>) -> Response {
    if state.inject_duplicate(&msg_id) {
        Json(json!({ "ok": true })).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "ok": false, "error": "unknown msgId" })),
        )
            .into_response()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    #[serde(default)]
    clear: bool,
    #[serde(default)]
    drop_sockets: bool,
    #[serde(default)]
    disconnect: bool,
    #[serde(default)]
    zombify: bool,
    gateway_failures: Option<GatewayFailures>,
    latency_ms: Option<u64>,
    http_5xx_rate: Option<f64>,
    webhook_answer: Option<WebhookAnswer>,
}

/// Arms the next sessionWebhook answers: a documented `errcode`, or a raw `status` + `body`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookAnswer {
    errcode: Option<i64>,
    status: Option<u16>,
    body: Option<String>,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
struct GatewayFailures {
    status: u16,
    count: u32,
}

async fn faults(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let req: FaultRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("invalid fault request: {e}")),
    };
    let faults = Faults::new(state);
    if req.clear {
        faults.clear();
    }
    if let Some(g) = req.gateway_failures {
        faults.set_gateway_failures(g.status, g.count);
    }
    if let Some(ms) = req.latency_ms {
        faults.set_http_latency(Duration::from_millis(ms));
    }
    if let Some(rate) = req.http_5xx_rate {
        faults.set_http_5xx_rate(rate);
    }
    if let Some(answer) = req.webhook_answer {
        let armed = match (answer.errcode, answer.status) {
            (Some(errcode), None) => ArmedAnswer::errcode(errcode),
            (None, Some(status)) => ArmedAnswer::raw(status, answer.body.unwrap_or_default()),
            _ => return bad_request("webhook_answer needs errcode or status".to_owned()),
        };
        faults.arm_webhook(armed, answer.count);
    }
    if req.drop_sockets {
        faults.drop_all_sockets();
    }
    if req.disconnect {
        faults.send_disconnect();
    }
    if req.zombify {
        faults.zombify_sockets();
    }
    Json(json!({ "ok": true })).into_response()
}

async fn received_by_path(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    Json(state.received(&id)).into_response()
}

async fn received_by_query(
    State(state): State<Arc<SimState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("conversation_id") {
        Some(id) => Json(state.received(id)).into_response(),
        None => bad_request("conversation_id is required".to_owned()),
    }
}

async fn stats(State(state): State<Arc<SimState>>) -> Response {
    Json(state.stats()).into_response()
}

async fn ack_latencies(State(state): State<Arc<SimState>>) -> Response {
    let ms: Vec<f64> = state
        .ack_latencies()
        .iter()
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    Json(json!({ "ms": ms })).into_response()
}

async fn info(State(state): State<Arc<SimState>>) -> Response {
    Json(json!({
        "base_url": state.base_url,
        "client_id": state.config.client_id,
        "app_id": state.identity.app_id,
        "chatbot_user_id": state.identity.chatbot_user_id,
    }))
    .into_response()
}
