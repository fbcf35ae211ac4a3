//! `POST /v1.0/gateway/connections/open` (protocol doc §2.1): checks the app
//! credentials and subscriptions and hands out a single-use ticket.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::api_error::{code_for_status, new_api_error};
use crate::frames::TOPIC_BOT_MESSAGE;
use crate::state::SimState;

pub const GATEWAY_PATH: &str = "/v1.0/gateway/connections/open";

/// An issued, not yet used ticket.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub expires_at: Instant,
    /// Whether the opener subscribed to the bot message CALLBACK topic.
    pub bot_subscribed: bool,
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new().route(GATEWAY_PATH, post(open))
}

async fn open(State(state): State<Arc<SimState>>, headers: HeaderMap, body: Bytes) -> Response {
    let accepts_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let injected = {
        let mut inner = state.lock();
        if !accepts_json {
            inner.stats.gateway_without_accept_json += 1;
        }
        inner.faults.take_gateway_failure()
    };
    if let Some(status) = injected {
        let (code, message) = code_for_status(status);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return reject(&state, new_api_error(status, code, message));
    }
    let request = match parse_request(&body) {
        Ok(r) => r,
        Err(message) => {
            return reject(
                &state,
                new_api_error(StatusCode::BAD_REQUEST, "InvalidParameter", &message),
            );
        }
    };
    if request.client_id != state.config.client_id
        || request.client_secret != state.config.client_secret
    {
        return reject(
            &state,
            new_api_error(
                StatusCode::UNAUTHORIZED,
                "invalidClientIdOrSecret",
                "无效的clientId或者clientSecret",
            ),
        );
    }
    let ticket = uuid::Uuid::new_v4().to_string();
    {
        let mut inner = state.lock();
        let now = Instant::now();
        // Expired tickets are swept here so the map cannot grow without bound.
        inner.tickets.retain(|_, t| t.expires_at > now);
        inner.tickets.insert(
            ticket.clone(),
            Ticket {
                expires_at: now + state.config.ticket_ttl,
                bot_subscribed: request.bot_subscribed,
            },
        );
        inner.stats.gateway_opens += 1;
    }
    Json(json!({ "endpoint": state.ws_endpoint(), "ticket": ticket })).into_response()
}

fn reject(state: &SimState, response: Response) -> Response {
    state.lock().stats.gateway_rejections += 1;
    response
}

struct OpenRequest {
    client_id: String,
    client_secret: String,
    bot_subscribed: bool,
}

/// Validate the body; the error text names the offending field.
fn parse_request(body: &[u8]) -> Result<OpenRequest, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("The request body is not valid JSON: {e}"))?;
    let field = |name: &str| -> Result<String, String> {
        v.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} is mandatory for this action."))
    };
    let client_id = field("clientId")?;
    let client_secret = field("clientSecret")?;
    let subs = v
        .get("subscriptions")
        .and_then(Value::as_array)
        .ok_or_else(|| "subscriptions is mandatory for this action.".to_owned())?;
    let mut bot_subscribed = false;
    for sub in subs {
        let kind = sub.get("type").and_then(Value::as_str);
        let topic = sub.get("topic").and_then(Value::as_str);
        match (kind, topic) {
            (Some(kind), Some(topic)) => {
                bot_subscribed |= kind == "CALLBACK" && topic == TOPIC_BOT_MESSAGE;
            }
            _ => return Err("subscriptions[].type and topic are mandatory.".to_owned()),
        }
    }
    Ok(OpenRequest {
        client_id,
        client_secret,
        bot_subscribed,
    })
}

impl SimState {
    /// Consume a ticket; `None` if unknown, already used or expired.
    pub fn redeem_ticket(&self, ticket: Option<&str>) -> Option<Ticket> {
        let mut inner = self.lock();
        let found = ticket
            .and_then(|t| inner.tickets.remove(t))
            .filter(|t| t.expires_at > Instant::now());
        if found.is_none() {
            inner.stats.ticket_rejections += 1;
        }
        found
    }
}
